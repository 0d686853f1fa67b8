// Every value the store writes is framed as [tag 0xc5][CRC32C of the payload, big-endian][payload]
// and checked on every read, so a flipped bit on disk is found before it is parsed, applied or
// served. LevelDB's own block checksums are not verified on reads (classic-level exposes no
// verify_checksums option), and they would not cover a value corrupted above LevelDB anyway.
import crc32c from "@chainsafe/fast-crc32c";

/** No value of the earlier unframed layout starts with this byte (see upgrade in store.ts). */
export const FRAME_TAG = 0xc5;
const HEADER_BYTES = 5;

/** A stored value that fails its check. `code` is stable; the message may change. */
export class CorruptValueError extends Error {
  readonly code = "KEEPER_CORRUPT_VALUE";
  constructor(readonly key: string, reason: string) {
    super(`stored value ${key} is corrupt: ${reason}`);
  }
}

/** The data dir cannot be used as it is; the message says what the operator can do. */
export class StorageError extends Error {
  readonly code = "KEEPER_STORAGE";
}

export function checksum(payload: Uint8Array): number {
  return crc32c.calculate(payload) >>> 0;
}

export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out[0] = FRAME_TAG;
  new DataView(out.buffer).setUint32(1, checksum(payload));
  out.set(payload, HEADER_BYTES);
  return out;
}

/** The payload of a framed value, or CorruptValueError. The payload is a view, not a copy. */
export function unframe(key: string, value: Uint8Array): Uint8Array {
  if (value.length < HEADER_BYTES) throw new CorruptValueError(key, `${value.length} bytes, shorter than a frame header`);
  if (value[0] !== FRAME_TAG) throw new CorruptValueError(key, `frame tag ${value[0]} is not ${FRAME_TAG}`);
  const want = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1);
  const payload = value.subarray(HEADER_BYTES);
  const got = checksum(payload);
  if (got !== want) throw new CorruptValueError(key, `CRC32C ${got.toString(16)} where ${want.toString(16)} was written`);
  return payload;
}

/** True if a value carries a frame tag (used only while upgrading an unframed data dir). */
export const isFramed = (value: Uint8Array): boolean => value[0] === FRAME_TAG;
