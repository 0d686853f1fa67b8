// The log's record format for one transaction. Version-tagged so it can evolve.
import { asSessionId, asZxid, type Acl, type Code } from "@keeper/protocol";
import { assertNever } from "./assert.ts";
import { BytePool, ByteReader, ByteWriter, DecodeError } from "./bytes.ts";
import type { TreeTxn, Txn, TxnBody } from "./txn.ts";

const FORMAT = 2;
// A tag is its index here: append new ones, so logs written before them still read.
const TAGS = ["create", "delete", "setData", "setACL", "check", "multi", "error", "createSession", "closeSession", "sync", "setSequence"] as const;
type Tag = (typeof TAGS)[number];
const TREE_TYPES: ReadonlySet<string> = new Set(["create", "delete", "setData", "setACL", "check"]);

function writeAcl(w: ByteWriter, acl: Acl[]): void {
  w.u32(acl.length);
  for (const a of acl) w.i32(a.perms).str(a.scheme).str(a.id);
}
function readAcl(r: ByteReader): Acl[] {
  const n = r.u32();
  const out: Acl[] = [];
  for (let i = 0; i < n; i++) out.push({ perms: r.i32(), scheme: r.str(), id: r.str() });
  return out;
}

function writeBody(w: ByteWriter, b: TxnBody): void {
  w.u8(TAGS.indexOf(b.type));
  switch (b.type) {
    case "create":
      w.str(b.path).bytes(b.data).num(b.ephemeralOwner);
      writeAcl(w, b.acl);
      w.u8(b.nullData ? 1 : 0);
      return;
    case "delete":
    case "check":
      w.str(b.path);
      return;
    case "setData":
      w.str(b.path).bytes(b.data).i32(b.version).u8(b.nullData ? 1 : 0);
      return;
    case "setACL":
      w.str(b.path).i32(b.aversion);
      writeAcl(w, b.acl);
      return;
    case "multi":
      w.u32(b.ops.length);
      for (const op of b.ops) writeBody(w, op);
      return;
    case "error":
      w.i32(b.err).u8(b.multiErrs ? 1 : 0);
      if (b.multiErrs) {
        w.u32(b.multiErrs.length);
        for (const e of b.multiErrs) w.i32(e);
      }
      return;
    case "createSession":
      w.u32(b.timeoutMs).bytes(b.password);
      return;
    case "closeSession":
      w.u32(b.ephemerals.length);
      for (const p of b.ephemerals) w.str(p);
      return;
    case "sync":
      w.str(b.path);
      return;
    case "setSequence":
      w.str(b.path).i32(b.cversion);
      return;
    default:
      assertNever(b, "transaction body");
  }
}

function readBody(r: ByteReader): TxnBody {
  const tag: Tag | undefined = TAGS[r.u8()];
  switch (tag) {
    case "create": {
      const path = r.str();
      const data = r.bytes();
      const ephemeralOwner = r.int();
      const acl = readAcl(r);
      return { type: "create", path, data, ephemeralOwner, acl, ...(r.u8() === 1 ? { nullData: true } : {}) };
    }
    case "delete":
    case "check":
      return { type: tag, path: r.str() };
    case "setData":
      const path = r.str();
      const data = r.bytes();
      const version = r.i32();
      return { type: "setData", path, data, version, ...(r.u8() === 1 ? { nullData: true } : {}) };
    case "setACL": {
      const path = r.str();
      const aversion = r.i32();
      return { type: "setACL", path, aversion, acl: readAcl(r) };
    }
    case "multi": {
      const n = r.u32();
      const ops: TreeTxn[] = [];
      for (let i = 0; i < n; i++) {
        const op = readBody(r);
        if (!TREE_TYPES.has(op.type)) throw new DecodeError(`a multi cannot hold a ${op.type} transaction`);
        ops.push(op as TreeTxn);
      }
      return { type: "multi", ops };
    }
    case "error": {
      const err = r.i32() as Code;
      if (r.u8() === 0) return { type: "error", err };
      const n = r.u32();
      const multiErrs: Code[] = [];
      for (let i = 0; i < n; i++) multiErrs.push(r.i32() as Code);
      return { type: "error", err, multiErrs };
    }
    case "createSession":
      return { type: "createSession", timeoutMs: r.u32(), password: r.bytes() };
    case "closeSession": {
      const n = r.u32();
      const ephemerals: string[] = [];
      for (let i = 0; i < n; i++) ephemerals.push(r.str());
      return { type: "closeSession", ephemerals };
    }
    case "sync":
      return { type: "sync", path: r.str() };
    case "setSequence": {
      const path = r.str();
      return { type: "setSequence", path, cversion: r.i32() };
    }
    default:
      throw new DecodeError(`unknown transaction tag`);
  }
}

/**
 * Each transaction's record, kept while the transaction lives: a leader logs a transaction and
 * sends it to every follower, and a follower logs the very bytes it received, so without this
 * one write was encoded 3 times on the leader and decoded then encoded again on each follower.
 * Sound because a transaction is never changed once it is proposed (see Txn).
 */
const records = new WeakMap<Txn, Uint8Array>();
/** Encoding goes through one scratch writer, and each record is carved from a pool (BytePool). */
const scratch = new ByteWriter(1024);
const recordPool = new BytePool();

/** The transaction's record; the same array every time (callers copy it, never write into it). */
export function encodeTxn(txn: Txn): Uint8Array {
  const known = records.get(txn);
  if (known !== undefined) return known;
  const w = scratch.reset();
  w.u8(FORMAT).num(txn.hdr.zxid).num(txn.hdr.time).num(txn.hdr.sessionId).i32(txn.hdr.cxid);
  writeBody(w, txn.body);
  const bytes = recordPool.copy(w.finishInPlace());
  records.set(txn, bytes);
  return bytes;
}

export function decodeTxn(bytes: Uint8Array): Txn {
  const r = new ByteReader(bytes);
  const format = r.u8();
  if (format !== FORMAT) throw new DecodeError(`unknown transaction format ${format}`);
  const hdr = { zxid: asZxid(r.num()), time: r.num(), sessionId: asSessionId(r.num()), cxid: r.i32() };
  const body = readBody(r);
  if (!r.done) throw new DecodeError("trailing bytes after transaction");
  const txn = { hdr, body };
  records.set(txn, bytes);
  return txn;
}
