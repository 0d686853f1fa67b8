// A growable byte writer and a bounds-checked reader, for the log and snapshot formats.
// Plain Uint8Array + DataView so the core stays free of node:* imports.
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  /** `capacity`: bytes to start with; a writer that knows its size (a snapshot chunk) grows less. */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.room(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }
  i32(v: number): this {
    this.room(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }
  /** Integers up to 2^53 (zxids, session ids, times) as float64: exact and simple. */
  num(v: number): this {
    this.room(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
    return this;
  }
  bytes(v: Uint8Array): this {
    this.u32(v.length);
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }
  /** UTF-8 with a u32 length prefix, encoded in place (no intermediate array). */
  str(v: string): this {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    this.room(4 + v.length * 3);
    const { written } = encoder.encodeInto(v, this.buf.subarray(this.pos + 4));
    this.view.setUint32(this.pos, written);
    this.pos += 4 + written;
    return this;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
  /** Empties the writer, keeping its buffer: for a scratch writer reused call after call. */
  reset(): this {
    this.pos = 0;
    return this;
  }
  /**
   * The bytes written, without a copy: a view of the writer's buffer (so the writer must not be
   * used again). For big buffers filled once, where a copy would cost more than the slack kept.
   */
  finishInPlace(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
  get length(): number {
    return this.pos;
  }
}

export class DecodeError extends Error {
  override name = "DecodeError";
}

export class ByteReader {
  private readonly view: DataView;
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  /** Where the next read starts. */
  get offset(): number {
    return this.pos;
  }
  /** The bytes read since `from` (an earlier offset), in place. */
  since(from: number): Uint8Array {
    return this.buf.subarray(from, this.pos);
  }
  /** If the bytes ahead are exactly `bytes`, moves past them and says true. */
  skipIfNext(bytes: Uint8Array): boolean {
    if (this.pos + bytes.length > this.buf.length) return false;
    for (let i = 0; i < bytes.length; i++) if (this.buf[this.pos + i] !== bytes[i]) return false;
    this.pos += bytes.length;
    return true;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DecodeError(`truncated: need ${n} bytes at ${this.pos} of ${this.buf.length}`);
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  num(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    if (!Number.isSafeInteger(v) || v < 0) throw new DecodeError(`not a non-negative integer: ${v}`);
    return v;
  }
  /** A signed integer up to 2^53 in magnitude (written with ByteWriter.num). */
  int(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    if (!Number.isSafeInteger(v)) throw new DecodeError(`not an integer: ${v}`);
    return v;
  }
  bytes(): Uint8Array {
    return this.nextBytes().slice();
  }
  /**
   * The bytes in place, sharing the buffer being read: no copy and no ArrayBuffer of their own
   * (a snapshot load keeps a million of them). Only for callers that never modify them.
   */
  bytesView(): Uint8Array {
    return this.nextBytes();
  }
  private nextBytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  str(): string {
    return this.strOf(this.nextBytes());
  }
  /** Decodes bytes read with bytesView() as a string (checked UTF-8, as str()). */
  strOf(bytes: Uint8Array): string {
    try {
      return decoder.decode(bytes);
    } catch (e) {
      if (e instanceof DecodeError) throw e;
      throw new DecodeError("string is not valid UTF-8");
    }
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

/**
 * Small arrays carved out of shared 64 KiB buffers, as Node's Buffer pool does: an ArrayBuffer
 * per small record (a transaction of a few hundred bytes) cost more to allocate and collect than
 * to fill. A carved array keeps its whole buffer alive, so only arrays that live about as long
 * as their neighbours (log records, kept in order and dropped in order) should come from here.
 */
export class BytePool {
  private buf = new Uint8Array(0);
  private pos = 0;

  constructor(private readonly bufferBytes = 64 * 1024) {}

  /** A copy of `src`; above an eighth of a pool buffer, an array of its own. */
  copy(src: Uint8Array): Uint8Array {
    const n = src.length;
    if (n > this.bufferBytes >>> 3) return src.slice();
    if (this.pos + n > this.buf.length) {
      this.buf = new Uint8Array(this.bufferBytes);
      this.pos = 0;
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    out.set(src);
    this.pos = (this.pos + n + 7) & ~7;
    return out;
  }
}
