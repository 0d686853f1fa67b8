// The broadcast's own messages (proposal, commit, ack) and the batch that carries them, encoded
// and decoded by hand with protobufjs's Writer and Reader: the same bytes as the reflection
// codec in peer-codec.ts (keeper-proto.ts's PeerFrame), without building a plain object per
// message and walking the schema for it. On a leader under setData, encodePeerFrame through
// reflection was 10.6% of busy time (docs/performance.md). Everything else (elections, syncs,
// forwards, pings) stays on the reflection codec: rare, or not worth a second encoder.
import protobuf from "protobufjs";
import type { PeerMessage } from "@keeper/core";
import { decodeTxn, encodeTxn } from "@keeper/core";
import { asZxid } from "@keeper/protocol";

const { Reader, Writer } = protobuf;

/** PeerFrame field numbers (keeper-proto.ts). */
const FIELD = { ack: 11, proposal: 13, commit: 14, batch: 17 } as const;
const LEN = 2;
const VARINT = 0;
const tag = (field: number, wire: number): number => (field << 3) | wire;

export type HotMessage = Extract<PeerMessage, { type: "proposal" | "commit" | "ack" }>;

export const isHot = (m: PeerMessage): m is HotMessage => m.type === "proposal" || m.type === "commit" || m.type === "ack";

/** An encoded frame, or a broadcast message not yet encoded (it is written straight into its batch). */
export type OutgoingFrame = Uint8Array | HotMessage;

/** About the bytes an outgoing frame takes (exact for encoded ones), to bound batches and backlogs. */
export function outgoingBytes(f: OutgoingFrame): number {
  if (f instanceof Uint8Array) return f.length;
  return f.type === "proposal" ? encodeTxn(f.txn).length + 24 : 40 + (f.type === "commit" ? (f.digest?.length ?? 0) : 0);
}

/** proto3 leaves fields at their default (0, empty) out, as PeerFrame.encode does. */
function u64Field(w: protobuf.Writer, field: number, v: number): void {
  if (v !== 0) w.uint32(tag(field, VARINT)).uint64(v);
}

/** A PeerFrame holding one broadcast message, byte for byte what PeerFrame.encode writes. */
export function encodeHot(m: HotMessage): Uint8Array {
  return writeHot(Writer.create(), m).finish();
}

function writeHot(w: protobuf.Writer, m: HotMessage): protobuf.Writer {
  switch (m.type) {
    case "proposal": {
      w.uint32(tag(FIELD.proposal, LEN)).fork();
      u64Field(w, 1, m.epoch);
      const txn = encodeTxn(m.txn);
      if (txn.length > 0) w.uint32(tag(2, LEN)).bytes(txn);
      break;
    }
    case "commit":
      w.uint32(tag(FIELD.commit, LEN)).fork();
      u64Field(w, 1, m.epoch);
      u64Field(w, 2, m.zxid);
      if (m.digest !== undefined && m.digest !== "") w.uint32(tag(3, LEN)).string(m.digest);
      break;
    case "ack":
      w.uint32(tag(FIELD.ack, LEN)).fork();
      u64Field(w, 1, m.syncId);
      u64Field(w, 2, m.epoch);
      u64Field(w, 3, m.zxid);
      break;
  }
  return w.ldelim();
}

/**
 * A PeerFrame holding a PeerBatch of frames. Broadcast messages are written in place (each a
 * nested PeerFrame), so a proposal's record is copied once, into the batch.
 */
export function encodeBatch(frames: readonly OutgoingFrame[]): Uint8Array {
  const w = Writer.create().uint32(tag(FIELD.batch, LEN)).fork();
  for (const f of frames) {
    if (f instanceof Uint8Array) w.uint32(tag(1, LEN)).bytes(f);
    else writeHot(w.uint32(tag(1, LEN)).fork(), f).ldelim();
  }
  return w.ldelim().finish();
}

/** Numbers on the wire are uint64 below 2^53 (zxids, epochs); anything above is malformed. */
function u64(r: protobuf.Reader): number {
  const v = r.uint64() as unknown as { low: number; high: number } | number;
  const n = typeof v === "number" ? v : (v.high >>> 0) * 0x1_0000_0000 + (v.low >>> 0);
  if (!Number.isSafeInteger(n)) throw new RangeError("a uint64 above 2^53");
  return n;
}

/**
 * The frame's top-level field: a hot message is decoded here, anything else returns undefined
 * (the caller uses the reflection decoder). Throws on malformed input, as PeerFrame.decode does.
 */
export function decodeHot(data: Uint8Array): { kind: "message"; msg: HotMessage } | { kind: "batch"; frames: Uint8Array[] } | undefined {
  const r = Reader.create(data);
  if (r.len === 0) return undefined;
  const t = r.uint32();
  const field = t >>> 3;
  if ((t & 7) !== LEN) return undefined;
  if (field !== FIELD.proposal && field !== FIELD.commit && field !== FIELD.ack && field !== FIELD.batch) return undefined;
  const end = r.uint32() + r.pos;
  if (end !== r.len) return undefined; // more than one field, or a repeated oneof: leave it to reflection
  if (field === FIELD.batch) {
    const frames: Uint8Array[] = [];
    while (r.pos < end) {
      const ft = r.uint32();
      if (ft !== tag(1, LEN)) {
        r.skipType(ft & 7);
        continue;
      }
      frames.push(r.bytes());
    }
    return { kind: "batch", frames };
  }
  let a = 0;
  let b = 0;
  let c = 0;
  let bytes: Uint8Array | undefined;
  let digest: string | undefined;
  while (r.pos < end) {
    const ft = r.uint32();
    const n = ft >>> 3;
    const wire = ft & 7;
    if (wire === VARINT && n === 1) a = u64(r);
    else if (wire === VARINT && n === 2) b = u64(r);
    else if (wire === VARINT && n === 3) c = u64(r);
    else if (wire === LEN && n === 2 && field === FIELD.proposal) bytes = r.bytes();
    else if (wire === LEN && n === 3 && field === FIELD.commit) digest = r.string();
    else r.skipType(wire);
  }
  if (field === FIELD.proposal) return { kind: "message", msg: { type: "proposal", epoch: a, txn: decodeTxn(bytes ?? new Uint8Array()) } };
  if (field === FIELD.commit) return { kind: "message", msg: { type: "commit", epoch: a, zxid: asZxid(b), ...(digest ? { digest } : {}) } };
  return { kind: "message", msg: { type: "ack", syncId: a, epoch: b, zxid: asZxid(c) } };
}
