// Framing: every message on a ZooKeeper client connection is a 4-byte big-endian signed length
// followed by that many bytes. The one exception is the first four bytes of a connection, which
// may be an ASCII four-letter admin word ("ruok", "stat", ...) instead of a length.

import { JUTE_DEFAULT_MAX_BUFFER, JuteError } from "./buffer.ts";
import { FOUR_LETTER_WORDS } from "./constants.ts";

const fourLetterWords = new Set(FOUR_LETTER_WORDS);

/**
 * The four-letter word these bytes start with, or undefined. Look at the first four bytes of a
 * connection before feeding it to a FrameDecoder: as a length, every one of these words is far
 * beyond any frame limit (e.g. "ruok" = 0x72756f6b). Fewer than four bytes give undefined.
 */
export function peekFourLetterWord(firstBytes: Uint8Array): string | undefined {
  if (firstBytes.length < 4) return undefined;
  let word = "";
  for (let i = 0; i < 4; i++) word += String.fromCharCode(firstBytes[i]!);
  return fourLetterWords.has(word) ? word : undefined;
}

/**
 * Splits a byte stream into frames. Chunks may end anywhere (inside the length, inside a body)
 * and may carry many frames. Each frame's buffer is allocated once, when its length has been
 * read and checked, so a peer cannot make the decoder buffer more than `maxFrameBytes` (+4).
 * After a JuteError the stream is out of sync: the decoder keeps throwing and the connection
 * should be closed.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private readonly lengthBytes = new Uint8Array(4);
  private lengthFill = 0;
  private frame: Uint8Array | undefined;
  private frameFill = 0;
  private failure: JuteError | undefined;

  /** `maxFrameBytes` is the largest body accepted: ZooKeeper's jute.maxbuffer (default 0xfffff) plus slack. */
  constructor(maxFrameBytes: number = JUTE_DEFAULT_MAX_BUFFER) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0) throw new RangeError(`bad maxFrameBytes ${maxFrameBytes}`);
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned as part of a frame. */
  get buffered(): number {
    return this.lengthFill + this.frameFill;
  }

  /** Feeds bytes in; returns the frames completed by them (bodies only, without the length). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure !== undefined) throw this.failure;
    const frames: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.frame === undefined) {
        const take = Math.min(4 - this.lengthFill, chunk.length - off);
        this.lengthBytes.set(chunk.subarray(off, off + take), this.lengthFill);
        this.lengthFill += take;
        off += take;
        if (this.lengthFill < 4) break;
        const len = new DataView(this.lengthBytes.buffer).getInt32(0);
        if (len < 0 || len > this.maxFrameBytes) {
          this.failure = new JuteError(`frame length ${len} outside 0..${this.maxFrameBytes}`);
          throw this.failure;
        }
        this.frame = new Uint8Array(len);
        this.frameFill = 0;
      }
      const take = Math.min(this.frame.length - this.frameFill, chunk.length - off);
      this.frame.set(chunk.subarray(off, off + take), this.frameFill);
      this.frameFill += take;
      off += take;
      if (this.frameFill === this.frame.length) {
        frames.push(this.frame);
        this.frame = undefined;
        this.frameFill = 0;
        this.lengthFill = 0;
      }
    }
    return frames;
  }
}
