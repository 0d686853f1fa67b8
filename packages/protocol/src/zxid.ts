// zxid = (epoch << 32) | counter. Keeper keeps zxids as JavaScript numbers, which are exact
// up to 2^53: that allows 2^21 epochs of 2^32 transactions each, far beyond any real run.

declare const zxidBrand: unique symbol;
/** A transaction id: epoch in the high 32 bits, counter in the low 32. */
export type Zxid = number & { readonly [zxidBrand]: true };

const TWO_32 = 0x1_0000_0000;
export const EPOCH_MAX = 0x1f_ffff;

export const ZXID_ZERO = 0 as Zxid;

export function makeZxid(epoch: number, counter: number): Zxid {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > EPOCH_MAX) throw new RangeError(`epoch out of range: ${epoch}`);
  if (!Number.isInteger(counter) || counter < 0 || counter >= TWO_32) throw new RangeError(`counter out of range: ${counter}`);
  return (epoch * TWO_32 + counter) as Zxid;
}

export function asZxid(n: number): Zxid {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a zxid: ${n}`);
  return n as Zxid;
}

export function epochOf(zxid: Zxid): number {
  return Math.floor(zxid / TWO_32);
}

export function counterOf(zxid: Zxid): number {
  return zxid % TWO_32;
}

/** "0x<epoch><counter>" as ZooKeeper prints it. */
export function formatZxid(zxid: Zxid): string {
  return "0x" + zxid.toString(16);
}

declare const sessionBrand: unique symbol;
/** A session id. Keeper's ids fit in 53 bits so they stay exact as JavaScript numbers. */
export type SessionId = number & { readonly [sessionBrand]: true };

export function asSessionId(n: number): SessionId {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a session id: ${n}`);
  return n as SessionId;
}

export function formatSessionId(id: SessionId): string {
  return "0x" + id.toString(16);
}
