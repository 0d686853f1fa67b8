// A snapshot of the replicated state (tree + sessions) at one zxid, as a sequence of chunks so
// a large tree is never one giant buffer. SnapshotWriter writes it in slices between applies
// (the node never stops for it): it starts at the tree's last zxid and, as a TreeChangeObserver,
// copies each node it has not written yet just before that node changes or goes, so the result
// is exactly the state at that zxid, not a fuzzy one. Recovery is snapshot + replay of the log
// after its zxid.
import { asSessionId, asZxid, joinPath, type Acl, type Stat, type Zxid } from "@keeper/protocol";
import { ByteReader, ByteWriter, DecodeError } from "./bytes.ts";
import { DataTree, internAcl, type TreeChangeObserver, type Znode } from "./tree/data-tree.ts";
import { TreeDigest, hashBytes } from "./tree/digest.ts";
import { SessionTable, sessionHash, type SessionInfo } from "./sessions/session-table.ts";

const MAGIC = 0x4b534e50; // "KSNP"
/**
 * Format 3: the tree digest covers ACLs and the header carries a digest of the sessions.
 * Format 2 (digest of paths, data and stats only) still loads, checked by its own digest.
 */
const FORMAT = 3;
const FORMAT_NO_ACL_DIGEST = 2;
/**
 * About this many bytes per chunk. Each chunk's buffer is fresh memory, and the first write to
 * each page costs a fault: 4 MiB chunks made one slice in a hundred take 20-36 ms; at 1 MiB the
 * cost is spread over the slices that fill it.
 */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export interface SnapshotMeta {
  zxid: Zxid;
  /** The tree's digest at `zxid` (ACLs included from format 3 on). */
  digest: string;
  /** Of the session records (id, timeout, password); "" in format 2, which had none. */
  sessionsDigest: string;
  format: number;
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

/** An order-independent digest of session records, as the tree's digest is of nodes. */
export function sessionsDigest(sessions: Iterable<SessionInfo>): string {
  const sum = new TreeDigest();
  for (const s of sessions) sum.add(sessionHash(s));
  return sum.toString();
}

/** What a snapshot writes of one node: data, ACL and Stat (children follow from the paths). */
type NodeImage = Pick<Znode, "data" | "dataNull" | "acl" | "stat">;

/**
 * Writes the state as it is at construction, in steps the caller spaces out (core reads no
 * clock: the server decides how many nodes a slice takes). Between steps the tree may go on
 * applying transactions. Nodes come out parents first, as readSnapshot needs.
 */
export class SnapshotWriter implements TreeChangeObserver {
  readonly zxid: Zxid;
  private readonly digest: string;
  /**
   * Nodes written already (their later changes need no copy); several writers may run at once,
   * so this is the writer's own set. Sharded by path hash: one Set of a million entries would
   * stop the node for tens of milliseconds each time it rehashes as it grows.
   */
  private readonly written: Array<Set<Readonly<Znode>>> = Array.from({ length: WRITTEN_SHARDS }, () => new Set());
  /** State at `zxid` of nodes changed or deleted since, not yet written. */
  private readonly before = new Map<string, NodeImage>();
  private readonly sessions: SessionInfo[];
  /** Paths still to visit, depth first. */
  private readonly stack = ["/"];
  private readonly capacity: number;
  private w: ByteWriter;
  private readonly chunks: Uint8Array[] = [];
  private nodes = 0;
  private finished: { meta: SnapshotMeta; header: Uint8Array } | undefined;

  constructor(private readonly tree: DataTree, sessions: SessionTable, private readonly chunkBytes = SNAPSHOT_CHUNK_BYTES) {
    this.zxid = tree.lastZxid;
    this.digest = tree.digest();
    // Session records never change once made; the list is copied, not the sessions.
    this.sessions = [...sessions.all()];
    // Sized for a whole chunk (plus one large node), so a chunk rarely regrows and copies.
    this.capacity = chunkBytes + 64 * 1024;
    this.w = new ByteWriter(this.capacity);
    tree.observeChanges(this, true);
  }

  beforeChange(path: string, n: Readonly<Znode>): void {
    if (n.stat.czxid > this.zxid || this.shard(n).has(n) || this.before.has(path)) return;
    this.before.set(path, { data: n.data, dataNull: n.dataNull, acl: n.acl, stat: { ...n.stat } });
  }

  get done(): boolean {
    return this.finished !== undefined;
  }

  /** Writes up to `maxNodes` more nodes; true when the snapshot is complete. */
  step(maxNodes: number): boolean {
    if (this.finished) return true;
    for (let budget = maxNodes; budget > 0 && this.stack.length > 0; budget--) {
      const path = this.stack.pop()!;
      const live = this.tree.node(path);
      // A node made after `zxid` (perhaps in place of one deleted since) is not in this snapshot.
      const current = live !== undefined && live.stat.czxid <= this.zxid ? live : undefined;
      const image = this.before.get(path) ?? current;
      if (image === undefined) continue;
      this.before.delete(path);
      this.write(path, image);
      if (current) {
        this.shard(current).add(current);
        // Children made since are skipped when popped; children deleted since are in `before`.
        for (const c of current.children) this.stack.push(joinPath(path, c));
      }
    }
    if (this.stack.length > 0) return false;
    // Nodes deleted before the walk reached them: parents first (a parent is shallower).
    const left = [...this.before].sort(([a], [b]) => depth(a) - depth(b));
    for (const [path, image] of left) this.write(path, image);
    this.before.clear();
    for (const s of this.sessions) {
      this.w.u8(2).num(s.id).u32(s.timeoutMs).bytes(s.password);
      if (this.w.length >= this.chunkBytes) this.flush();
    }
    this.flush();
    this.tree.observeChanges(this, false);
    for (const s of this.written) s.clear();
    const meta: SnapshotMeta = {
      zxid: this.zxid, digest: this.digest, sessionsDigest: sessionsDigest(this.sessions), format: FORMAT,
      nodes: this.nodes, sessions: this.sessions.length, chunks: this.chunks.length + this.taken,
    };
    const header = new ByteWriter().u32(MAGIC).u8(FORMAT).num(meta.zxid).str(meta.digest).u32(meta.nodes).u32(meta.sessions).u32(meta.chunks).str(meta.sessionsDigest).finish();
    this.finished = { meta, header };
    return true;
  }

  private taken = 0;

  /** Body chunks completed since the last call, in order (so they can be stored as they come). */
  takeChunks(): Uint8Array[] {
    const out = this.chunks.splice(0);
    this.taken += out.length;
    return out;
  }

  /** The header (the snapshot's first chunk) and its meta, once `step` returned true. */
  result(): { meta: SnapshotMeta; header: Uint8Array } {
    if (!this.finished) throw new Error("snapshot not finished");
    return this.finished;
  }

  /** Stops early (the state was replaced): the tree is no longer observed. */
  abort(): void {
    this.tree.observeChanges(this, false);
    for (const s of this.written) s.clear();
    this.before.clear();
    this.stack.length = 0;
  }

  private shard(n: Readonly<Znode>): Set<Readonly<Znode>> {
    return this.written[n.pathHash[0] & (WRITTEN_SHARDS - 1)]!;
  }

  private write(path: string, n: NodeImage): void {
    const w = this.w;
    w.u8(1).str(path).bytes(n.data).u8(n.dataNull ? 1 : 0);
    writeStat(w, n.stat);
    w.u32(n.acl.length);
    for (const a of n.acl) w.i32(a.perms).str(a.scheme).str(a.id);
    this.nodes++;
    if (w.length >= this.chunkBytes) this.flush();
  }

  private flush(): void {
    // In place: copying a full chunk would touch twice the memory for nothing.
    if (this.w.length > 0) this.chunks.push(this.w.finishInPlace());
    this.w = new ByteWriter(this.capacity);
  }
}

const WRITTEN_SHARDS = 256;

const depth = (path: string): number => {
  let d = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) d++;
  return d;
};

/** Serialises state at once, into chunks of about `chunkBytes`; the first chunk is the header. */
export function writeSnapshot(tree: DataTree, sessions: SessionTable, chunkBytes = SNAPSHOT_CHUNK_BYTES): { meta: SnapshotMeta; chunks: Uint8Array[] } {
  const writer = new SnapshotWriter(tree, sessions, chunkBytes);
  writer.step(Infinity);
  const body = writer.takeChunks();
  const { meta, header } = writer.result();
  return { meta, chunks: [header, ...body] };
}

export function readSnapshotHeader(bytes: Uint8Array): SnapshotMeta {
  const r = new ByteReader(bytes);
  if (r.u32() !== MAGIC) throw new DecodeError("not a Keeper snapshot");
  const format = r.u8();
  if (format !== FORMAT && format !== FORMAT_NO_ACL_DIGEST) throw new DecodeError(`unknown snapshot format ${format}`);
  const meta = { zxid: asZxid(r.num()), digest: r.str(), nodes: r.u32(), sessions: r.u32(), chunks: r.u32() };
  return { ...meta, format, sessionsDigest: format === FORMAT ? r.str() : "" };
}

/**
 * Rebuilds state chunk by chunk as chunks arrive (a follower taking a SNAP in pieces), so no
 * single step parses more than one chunk; finish() checks the whole against its header.
 */
export class SnapshotLoader {
  readonly tree = new DataTree();
  readonly sessions = new SessionTable();
  private nodes = 0;
  /** Body chunks added so far. */
  chunks = 0;

  add(chunk: Uint8Array): void {
    const r = new ByteReader(chunk);
    while (!r.done) {
      const kind = r.u8();
      if (kind === 1) {
        // A million nodes load here: nothing is copied that can be read in place (the data
        // stays a view of its chunk), the path is hashed from its bytes, and an ACL equal to
        // the last node's is taken without being parsed again.
        const pathBytes = r.bytesView();
        const path = r.strOf(pathBytes);
        const data = r.bytesView();
        const dataNull = r.u8() === 1;
        const stat = readStat(r);
        const acl = this.readAcl(r);
        this.tree.restoreNode(path, data, acl, stat, dataNull, hashBytes(pathBytes));
        this.nodes++;
      } else if (kind === 2) {
        this.sessions.add({ id: asSessionId(r.num()), timeoutMs: r.u32(), password: r.bytes() });
      } else {
        throw new DecodeError(`unknown snapshot record ${kind}`);
      }
    }
    this.chunks++;
  }

  /** The last ACL read, by its bytes, so equal lists (nearly every node's) are parsed once. */
  private lastAcl: { bytes: Uint8Array; acl: readonly Acl[] } | undefined;

  private readAcl(r: ByteReader): readonly Acl[] {
    // The encoding is self-delimiting (a count, then entries), so equal bytes are an equal list.
    if (this.lastAcl && r.skipIfNext(this.lastAcl.bytes)) return this.lastAcl.acl;
    const start = r.offset;
    const n = r.u32();
    const acl: Acl[] = [];
    for (let i = 0; i < n; i++) acl.push({ perms: r.i32(), scheme: r.str(), id: r.str() });
    // Interned, as the tree would: the next equal list is then the very same array.
    const interned = internAcl(acl);
    this.lastAcl = { bytes: r.since(start).slice(), acl: interned };
    return interned;
  }

  /** The state, once every chunk is in: checks chunk, node and session counts and the digest. */
  finish(header: Uint8Array): { tree: DataTree; sessions: SessionTable; meta: SnapshotMeta } {
    const meta = readSnapshotHeader(header);
    const { tree, sessions } = this;
    tree.lastZxid = meta.zxid;
    if (this.chunks !== meta.chunks) throw new DecodeError(`snapshot has ${this.chunks} chunks, header says ${meta.chunks}`);
    if (this.nodes !== meta.nodes || sessions.size !== meta.sessions) throw new DecodeError(`snapshot holds ${this.nodes} nodes / ${sessions.size} sessions, header says ${meta.nodes} / ${meta.sessions}`);
    const digest = meta.format === FORMAT_NO_ACL_DIGEST ? tree.digestWithoutAcls() : tree.digest();
    if (digest !== meta.digest) throw new DecodeError(`snapshot digest ${digest} does not match ${meta.digest}`);
    if (meta.format === FORMAT) {
      const got = sessionsDigest(sessions.all());
      if (got !== meta.sessionsDigest) throw new DecodeError(`snapshot sessions digest ${got} does not match ${meta.sessionsDigest}`);
    }
    return { tree, sessions, meta };
  }
}

/** Rebuilds state from a header and its chunks, checking counts and the digest. */
export function readSnapshot(header: Uint8Array, body: Iterable<Uint8Array>): { tree: DataTree; sessions: SessionTable; meta: SnapshotMeta } {
  const loader = new SnapshotLoader();
  for (const chunk of body) loader.add(chunk);
  return loader.finish(header);
}
