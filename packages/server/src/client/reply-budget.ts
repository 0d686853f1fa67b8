// A reply larger than the client can read (replyBytesMax, ZooKeeper's jute.maxbuffer) is refused,
// not built. Its size is counted while it is assembled and the count stops at the limit, so a
// getChildren of a node with a million children, or a multiRead of a thousand of them, costs at
// most the limit's worth of work. ZooKeeper builds such a reply whole and the client then drops
// the connection reading it, again on every retry.
//
// Sizes are upper bounds for both encodings: jute (ZooKeeper's port) and protobuf (the native
// one). A length-prefixed string costs 4 bytes of length in jute and a tag plus a varint of at
// most 3 bytes in protobuf, for anything under 2 MiB.

/** xid, zxid and error code, with the framing of either protocol. */
export const REPLY_HEADER_BYTES = 64;
/** A Stat: 68 bytes in jute; in protobuf at most 11 varints of 10 bytes with their tags. */
export const STAT_BYTES = 128;
/** The framing of one result inside a multiRead (jute's MultiHeader, a nested message in protobuf). */
export const OP_RESULT_BYTES = 32;
/** The length or count in front of a string, a byte array or a list. */
export const LENGTH_BYTES = 4;

/** The bytes left for one reply; once overdrawn it stays overdrawn. */
export class ReplyBudget {
  private left: number;

  constructor(readonly bytesMax: number) {
    this.left = bytesMax - REPLY_HEADER_BYTES;
  }

  /** Spends `n` bytes; false once the reply would exceed the limit. */
  take(n: number): boolean {
    this.left -= n;
    return this.left >= 0;
  }

  /** True if `n` more bytes would still fit, without spending them. */
  fits(n: number): boolean {
    return n <= this.left;
  }

  get exceeded(): boolean {
    return this.left < 0;
  }
}

export function stringBytes(s: string): number {
  return LENGTH_BYTES + Buffer.byteLength(s, "utf8");
}

/**
 * The names a reply lists (children, ephemeral paths), sorted, or undefined as soon as they would
 * not fit. `count` is how many names `names` yields: every name costs at least LENGTH_BYTES + 1,
 * so a set that cannot fit is refused without being walked.
 */
export function namesWithin(names: Iterable<string>, count: number, budget: ReplyBudget): string[] | undefined {
  if (!budget.take(LENGTH_BYTES) || !budget.fits(count * (LENGTH_BYTES + 1))) return undefined;
  const out: string[] = [];
  for (const name of names) {
    if (!budget.take(stringBytes(name))) return undefined;
    out.push(name);
  }
  return out.sort();
}

/** The reason logged when a read is refused for its size. */
export function tooBig(budget: ReplyBudget, what: string): string {
  return `the reply to ${what} would exceed replyBytesMax (${budget.bytesMax} bytes)`;
}
