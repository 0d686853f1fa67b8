// Jute's binary archive: the primitive encodings every ZooKeeper record is built from.
//
//   int      4 bytes, big-endian, two's complement
//   long     8 bytes, big-endian, two's complement (a bigint here: zxids and session ids use all 64 bits)
//   boolean  1 byte; written as 0 or 1, read as "non-zero is true" like java.io.DataInput
//   buffer   int length then the bytes; length -1 means null
//   ustring  int length then UTF-8 bytes; length -1 means null
//   vector   int count then the elements; count -1 means null
//
// Only Uint8Array, DataView and TextEncoder/TextDecoder are used, so this runs in a browser too.

import { Code, KeeperError } from "../codes.ts";

/**
 * Largest buffer or string a reader accepts by default, and the default frame limit: ZooKeeper's
 * jute.maxbuffer default (0xfffff) rounded up to 1 MiB plus the 1 KiB of slack its archive allows.
 */
export const JUTE_DEFAULT_MAX_BUFFER = 1024 * 1024 + 1024;

/** Bytes that cannot be a well-formed jute record (or frame). Always carries MARSHALLINGERROR. */
export class JuteError extends KeeperError {
  /** The request's xid, when the request header could be read before the body failed. */
  xid: number | undefined;
  /** The request's opcode, when the request header could be read before the body failed. */
  opcode: number | undefined;
  constructor(detail: string, where?: { xid?: number; opcode?: number }) {
    super(Code.MARSHALLINGERROR, detail);
    this.name = "JuteError";
    this.xid = where?.xid;
    this.opcode = where?.opcode;
  }
}

/**
 * A well-formed jute null (length -1) where Keeper needs a value, such as a path. ZooKeeper
 * deserialises the null and then fails the request with MARSHALLINGERROR, keeping the session:
 * so the server answers this request with an error instead of closing the connection.
 */
export class JuteNullFieldError extends JuteError {
  constructor(readonly field: string) {
    super(`null ${field}`);
    this.name = "JuteNullFieldError";
  }
}

const INT_MIN = -0x8000_0000;
const INT_MAX = 0x7fff_ffff;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

const encoder = new TextEncoder();
// fatal: reject invalid UTF-8; ignoreBOM: keep a leading U+FEFF as part of the string.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Appends jute primitives to a growing byte array. Invalid arguments are programming errors (RangeError). */
export class JuteWriter {
  private bytes: Uint8Array;
  private view: DataView;
  private length = 0;
  private readonly framed: boolean;

  /** With `lengthPrefix`, four bytes are reserved up front and `finish()` fills them with the body length. */
  constructor(options?: { lengthPrefix?: boolean; initialCapacity?: number }) {
    this.bytes = new Uint8Array(Math.max(16, options?.initialCapacity ?? 256));
    this.view = new DataView(this.bytes.buffer);
    this.framed = options?.lengthPrefix === true;
    if (this.framed) this.length = 4;
  }

  private reserve(n: number): void {
    const needed = this.length + n;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  int(value: number): this {
    if (!Number.isInteger(value) || value < INT_MIN || value > INT_MAX) throw new RangeError(`jute int out of range: ${value}`);
    this.reserve(4);
    this.view.setInt32(this.length, value);
    this.length += 4;
    return this;
  }

  long(value: bigint): this {
    if (typeof value !== "bigint" || value < LONG_MIN || value > LONG_MAX) throw new RangeError(`jute long out of range: ${String(value)}`);
    this.reserve(8);
    this.view.setBigInt64(this.length, value);
    this.length += 8;
    return this;
  }

  bool(value: boolean): this {
    this.reserve(1);
    this.bytes[this.length++] = value ? 1 : 0;
    return this;
  }

  /** Raw bytes with no length (for splicing an already-encoded record). */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    this.int(value.length);
    return this.raw(value);
  }

  ustring(value: string | null): this {
    if (value === null) return this.int(-1);
    return this.buffer(encoder.encode(value));
  }

  vector<T>(items: readonly T[] | null, write: (w: JuteWriter, item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** Bytes written so far (including the reserved prefix, if any). */
  get size(): number {
    return this.length;
  }

  /** The encoded bytes; with `lengthPrefix`, the first four hold the length of the rest. */
  finish(): Uint8Array {
    if (this.framed) this.view.setInt32(0, this.length - 4);
    return this.bytes.slice(0, this.length);
  }
}

export interface JuteReadOptions {
  /** Largest buffer or ustring accepted (default JUTE_DEFAULT_MAX_BUFFER). */
  maxLength?: number;
}

/** Reads jute primitives from a byte array; anything malformed throws JuteError. */
export class JuteReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  private readonly maxLength: number;

  constructor(bytes: Uint8Array, options?: JuteReadOptions) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxLength = options?.maxLength ?? JUTE_DEFAULT_MAX_BUFFER;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) throw new JuteError(`truncated ${what}: need ${n} bytes at offset ${this.pos}, have ${this.remaining}`);
  }

  int(): number {
    this.need(4, "int");
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  long(): bigint {
    this.need(8, "long");
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    this.need(1, "boolean");
    return this.bytes[this.pos++] !== 0;
  }

  private length(what: string): number {
    const n = this.int();
    if (n === -1) return -1;
    if (n < 0) throw new JuteError(`negative ${what} length ${n}`);
    if (n > this.maxLength) throw new JuteError(`${what} length ${n} exceeds limit ${this.maxLength}`);
    this.need(n, what);
    return n;
  }

  /** A copy of the next `n` bytes (so the result does not pin the frame). */
  private take(n: number): Uint8Array {
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  buffer(): Uint8Array | null {
    const n = this.length("buffer");
    return n === -1 ? null : this.take(n);
  }

  ustring(): string | null {
    const n = this.length("ustring");
    if (n === -1) return null;
    const slice = this.bytes.subarray(this.pos, this.pos + n);
    let s: string;
    try {
      s = decoder.decode(slice);
    } catch {
      throw new JuteError(`invalid UTF-8 in ustring at offset ${this.pos}`);
    }
    this.pos += n;
    return s;
  }

  /** A ustring that may not be null (a path, a scheme, a child name). */
  string(field: string): string {
    const s = this.ustring();
    if (s === null) throw new JuteNullFieldError(field);
    return s;
  }

  vector<T>(read: (r: JuteReader) => T): T[] | null {
    const n = this.int();
    if (n === -1) return null;
    if (n < 0) throw new JuteError(`negative vector count ${n}`);
    // Every element takes at least one byte, so a count beyond the bytes left is a lie; refuse it
    // before allocating anything.
    if (n > this.remaining) throw new JuteError(`vector count ${n} exceeds the ${this.remaining} bytes left`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }
}
