// The backup file: a Keeper snapshot at one zxid, framed so that every piece is checked.
//
//   "KEEPERBK" (8 bytes) · u32 format (1)
//   frames: u8 type · u32 payload length · payload · u32 CRC-32 of type and payload
//     START  (1): the snapshot's zxid, as 8 bytes (a float64): restore can name the snapshot
//                 before the rest arrives
//     CHUNK  (2): one snapshot body chunk (snapshot.ts's record format)
//     HEADER (3): the snapshot header (counts and the tree digest), after every chunk
//     END    (4): SHA-256 of every byte before this frame; a file without it is truncated
//
// The snapshot itself carries the tree digest, which restore recomputes from the nodes, so a
// file passes only if every frame, the whole byte stream and the rebuilt state check out.
import { createHash, type Hash } from "node:crypto";
import { crc32 } from "node:zlib";
import { asZxid, type Zxid } from "@keeper/protocol";

export const BACKUP_MAGIC = "KEEPERBK";
export const BACKUP_FORMAT = 1;
export const FrameType = { START: 1, CHUNK: 2, HEADER: 3, END: 4 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];
/** Snapshot chunks are about 1 MiB; anything far larger is corruption, not data. */
export const BACKUP_FRAME_BYTES_MAX = 64 * 1024 * 1024;
const PREAMBLE_BYTES = 12;

/** A corrupt, truncated or foreign backup file. */
export class BackupFormatError extends Error {
  override name = "BackupFormatError";
}

function frame(type: FrameType, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length + 4);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  out.writeUInt32BE(crc32(out.subarray(0, 5 + payload.length)), 5 + payload.length);
  return out;
}

/** Produces the file's bytes piece by piece, hashing as it goes. */
export class BackupEncoder {
  private readonly hash: Hash = createHash("sha256");

  private emit(bytes: Buffer): Buffer {
    this.hash.update(bytes);
    return bytes;
  }

  start(zxid: Zxid): Buffer {
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    preamble.write(BACKUP_MAGIC, 0, "ascii");
    preamble.writeUInt32BE(BACKUP_FORMAT, 8);
    const z = Buffer.alloc(8);
    z.writeDoubleBE(zxid, 0);
    return this.emit(Buffer.concat([preamble, frame(FrameType.START, z)]));
  }

  chunk(body: Uint8Array): Buffer {
    return this.emit(frame(FrameType.CHUNK, body));
  }

  /** The header frame and the END frame that seals the file. */
  finish(header: Uint8Array): Buffer {
    const h = this.emit(frame(FrameType.HEADER, header));
    return Buffer.concat([h, frame(FrameType.END, this.hash.digest())]);
  }
}

export type BackupItem = { type: "start"; zxid: Zxid } | { type: "chunk"; body: Uint8Array } | { type: "header"; header: Uint8Array } | { type: "end"; sha256: string };

/**
 * Parses a backup from bytes in any split (a file stream's chunks), checking the magic, each
 * frame's CRC and order, and the SHA-256 at the end. Call end() after the last bytes: a file
 * that stops before its END frame is reported as truncated.
 */
export class BackupDecoder {
  private buffer = Buffer.alloc(0);
  private readonly hash: Hash = createHash("sha256");
  private preambleSeen = false;
  private last: FrameType | undefined;
  private ended = false;
  /** Bytes consumed so far, for progress. */
  bytes = 0;

  push(data: Uint8Array): BackupItem[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(data) : Buffer.concat([this.buffer, data]);
    const items: BackupItem[] = [];
    for (;;) {
      if (!this.preambleSeen) {
        if (this.buffer.length < PREAMBLE_BYTES) return items;
        if (this.buffer.toString("ascii", 0, 8) !== BACKUP_MAGIC) throw new BackupFormatError("not a Keeper backup (bad magic)");
        const format = this.buffer.readUInt32BE(8);
        if (format !== BACKUP_FORMAT) throw new BackupFormatError(`backup format ${format} is not supported (this version reads ${BACKUP_FORMAT})`);
        this.consume(PREAMBLE_BYTES, true);
        this.preambleSeen = true;
        continue;
      }
      if (this.ended && this.buffer.length > 0) throw new BackupFormatError("bytes after the end of the backup");
      if (this.buffer.length < 5) return items;
      const type = this.buffer.readUInt8(0) as FrameType;
      const length = this.buffer.readUInt32BE(1);
      if (length > BACKUP_FRAME_BYTES_MAX) throw new BackupFormatError(`frame of ${length} bytes at offset ${this.bytes}: corrupt`);
      if (this.buffer.length < 5 + length + 4) return items;
      const whole = this.buffer.subarray(0, 5 + length);
      if (crc32(whole) !== this.buffer.readUInt32BE(5 + length)) throw new BackupFormatError(`checksum mismatch in the frame at offset ${this.bytes}`);
      const payload = Buffer.from(this.buffer.subarray(5, 5 + length));
      this.checkOrder(type);
      if (type === FrameType.END) {
        const expected = this.hash.digest("hex");
        if (payload.toString("hex") !== expected) throw new BackupFormatError("SHA-256 of the file does not match its END frame");
        this.consume(5 + length + 4, false);
        this.ended = true;
        items.push({ type: "end", sha256: expected });
        continue;
      }
      this.consume(5 + length + 4, true);
      if (type === FrameType.START) items.push({ type: "start", zxid: asZxid(payload.readDoubleBE(0)) });
      else if (type === FrameType.CHUNK) items.push({ type: "chunk", body: payload });
      else items.push({ type: "header", header: payload });
    }
  }

  /** Throws unless the whole file, END frame included, was read. */
  end(): void {
    if (!this.ended) throw new BackupFormatError(this.preambleSeen ? "the backup is truncated (no END frame): it was cut short while being taken or copied" : "not a Keeper backup (too short)");
  }

  private checkOrder(type: FrameType): void {
    const ok =
      type === FrameType.START ? this.last === undefined : type === FrameType.CHUNK ? this.last === FrameType.START || this.last === FrameType.CHUNK : type === FrameType.HEADER ? this.last === FrameType.START || this.last === FrameType.CHUNK : type === FrameType.END ? this.last === FrameType.HEADER : false;
    if (!ok) throw new BackupFormatError(`unexpected frame type ${type} after ${this.last ?? "the preamble"}`);
    this.last = type;
  }

  private consume(n: number, hashed: boolean): void {
    if (hashed) this.hash.update(this.buffer.subarray(0, n));
    this.buffer = this.buffer.subarray(n);
    this.bytes += n;
  }
}
