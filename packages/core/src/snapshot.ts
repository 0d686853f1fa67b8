// A snapshot of the replicated state (tree + sessions) at one zxid, as a sequence of chunks so
// a large tree is never one giant buffer. Taken synchronously between two applies, so it is
// exact, not fuzzy: recovery is snapshot + replay of the log after its zxid.
import { asSessionId, asZxid, type Stat, type Zxid } from "@keeper/protocol";
import { ByteReader, ByteWriter, DecodeError } from "./bytes.ts";
import { DataTree } from "./tree/data-tree.ts";
import { SessionTable } from "./sessions/session-table.ts";

const MAGIC = 0x4b534e50; // "KSNP"
const FORMAT = 2;

export interface SnapshotMeta {
  zxid: Zxid;
  digest: string;
  nodes: number;
  sessions: number;
  chunks: number;
}

function writeStat(w: ByteWriter, s: Stat): void {
  w.num(s.czxid).num(s.mzxid).num(s.ctime).num(s.mtime).i32(s.version).i32(s.cversion).i32(s.aversion).num(s.ephemeralOwner).i32(s.dataLength).i32(s.numChildren).num(s.pzxid);
}
function readStat(r: ByteReader): Stat {
  return {
    czxid: asZxid(r.num()), mzxid: asZxid(r.num()), ctime: r.num(), mtime: r.num(), version: r.i32(), cversion: r.i32(), aversion: r.i32(),
    ephemeralOwner: r.int(), dataLength: r.i32(), numChildren: r.i32(), pzxid: asZxid(r.num()),
  };
}

/** Serialises state into chunks of about `chunkBytes`; the first chunk is the header. */
export function writeSnapshot(tree: DataTree, sessions: SessionTable, chunkBytes = 4 * 1024 * 1024): { meta: SnapshotMeta; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  // Sized for a whole chunk (plus one large node), so a chunk rarely regrows and copies.
  const capacity = chunkBytes + 64 * 1024;
  let w = new ByteWriter(capacity);
  let nodes = 0;
  const flush = () => {
    if (w.length > 0) chunks.push(w.finish());
    w = new ByteWriter(capacity);
  };
  for (const [path, n] of tree.walk()) {
    w.u8(1).str(path).bytes(n.data).u8(n.dataNull ? 1 : 0);
    writeStat(w, n.stat);
    w.u32(n.acl.length);
    for (const a of n.acl) w.i32(a.perms).str(a.scheme).str(a.id);
    nodes++;
    if (w.length >= chunkBytes) flush();
  }
  for (const s of sessions.all()) {
    w.u8(2).num(s.id).u32(s.timeoutMs).bytes(s.password);
    if (w.length >= chunkBytes) flush();
  }
  flush();
  const meta: SnapshotMeta = { zxid: tree.lastZxid, digest: tree.digest(), nodes, sessions: sessions.size, chunks: chunks.length };
  const header = new ByteWriter().u32(MAGIC).u8(FORMAT).num(meta.zxid).str(meta.digest).u32(meta.nodes).u32(meta.sessions).u32(meta.chunks).finish();
  return { meta, chunks: [header, ...chunks] };
}

export function readSnapshotHeader(bytes: Uint8Array): SnapshotMeta {
  const r = new ByteReader(bytes);
  if (r.u32() !== MAGIC) throw new DecodeError("not a Keeper snapshot");
  const format = r.u8();
  if (format !== FORMAT) throw new DecodeError(`unknown snapshot format ${format}`);
  return { zxid: asZxid(r.num()), digest: r.str(), nodes: r.u32(), sessions: r.u32(), chunks: r.u32() };
}

/** Rebuilds state from a header and its chunks, checking counts and the digest. */
export function readSnapshot(header: Uint8Array, body: Iterable<Uint8Array>): { tree: DataTree; sessions: SessionTable; meta: SnapshotMeta } {
  const meta = readSnapshotHeader(header);
  const tree = new DataTree();
  const sessions = new SessionTable();
  let nodes = 0;
  for (const chunk of body) {
    const r = new ByteReader(chunk);
    while (!r.done) {
      const kind = r.u8();
      if (kind === 1) {
        const path = r.str();
        const data = r.bytes();
        const dataNull = r.u8() === 1;
        const stat = readStat(r);
        const n = r.u32();
        const acl = [];
        for (let i = 0; i < n; i++) acl.push({ perms: r.i32(), scheme: r.str(), id: r.str() });
        tree.restoreNode(path, data, acl, stat, dataNull);
        nodes++;
      } else if (kind === 2) {
        sessions.add({ id: asSessionId(r.num()), timeoutMs: r.u32(), password: r.bytes() });
      } else {
        throw new DecodeError(`unknown snapshot record ${kind}`);
      }
    }
  }
  tree.lastZxid = meta.zxid;
  if (nodes !== meta.nodes || sessions.size !== meta.sessions) throw new DecodeError(`snapshot holds ${nodes} nodes / ${sessions.size} sessions, header says ${meta.nodes} / ${meta.sessions}`);
  if (tree.digest() !== meta.digest) throw new DecodeError(`snapshot digest ${tree.digest()} does not match ${meta.digest}`);
  return { tree, sessions, meta };
}
