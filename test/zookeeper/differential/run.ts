// Runs one sequence of DiffOps against ZooKeeper and Keeper side by side, under a fresh root
// /<tag><N> with fresh sessions (so any sequence can be replayed without restarting a server),
// normalises every reply and the watch events, and stops at the first divergence.
//
// Normalisation (what "equal" means):
//  - zxids (czxid, mzxid, pzxid) become z<k>, k being the order in which that server's zxids were
//    first seen in this run; a zxid seen for the first time also carries its rank among the zxids
//    seen so far. So equality (czxid == mzxid, a multi's ops sharing one zxid) and order are
//    compared, the numbers themselves are not (ZooKeeper spends zxids on sessions and failed
//    writes, Keeper counts its own way).
//  - ctime/mtime are not compared as numbers; each stat must satisfy ctime > 0, mtime >= ctime,
//    and mtime == ctime when mzxid == czxid.
//  - ephemeralOwner: "none" for 0, "session<k>" (k-th session opened in this run) for a session,
//    container and TTL encodings literally.
//  - paths are shown relative to the run's root; children and getEphemerals lists are sorted
//    (ZooKeeper returns a HashSet's order).
//  - watch events are compared per session, in order, as (type, state, path, and how many replies
//    that session had received when the event arrived): ZooKeeper delivers a watch event before
//    the reply that follows the change, and before any later reply on that connection.
import { Code, codeName, type JuteStat, type ZkMultiReadResult, type ZkMultiResult, type ZkReply } from "@keeper/protocol";
import { ZkRawClient } from "../../support/zk-raw.ts";
import { formatOp, mapPaths, PATHS, SESSIONS, toRequest, type DiffOp } from "./ops.ts";

export const SIDES = ["zookeeper", "keeper"] as const;
export type SideName = (typeof SIDES)[number];

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Known Keeper divergences the caller chooses to look past (each is pinned by an it.fails test):
 *  - "cversion": Keeper reports its stored create count as cversion; ZooKeeper reports
 *    2 * creates - numChildren (DataNode.copyStat). Tolerated by applying that formula to Keeper's value.
 *  - "ownerEncoding": Keeper reports the internal ephemeralOwner encodings of containers and TTL
 *    nodes; ZooKeeper reports 0 for them (DataNode.getClientEphemeralOwner). Tolerated by reading
 *    Keeper's container/TTL encodings as 0.
 */
export type Tolerance = "cversion" | "ownerEncoding";

export interface Divergence {
  /** Index of the op after which the divergence showed (ops.length for the final event check). */
  index: number;
  /** A short, stable description used to keep shrinking on the same divergence. */
  signature: string;
  /** What differs, one line. */
  what: string;
  zookeeper: unknown;
  keeper: unknown;
}

export interface RunResult {
  divergence?: Divergence;
  /** Ops whose replies were compared. */
  compared: number;
  /** Watch events compared (per side). */
  events: number;
  /** Normalised replies of ZooKeeper, one per op (for reports). */
  replies: unknown[];
  /** The ops as run: "@k" references replaced by the paths they named. */
  resolved: DiffOp[];
}

const decoder = new TextDecoder();
/** A reply that takes longer than this is a divergence ("failed") rather than a hang. */
const REPLY_TIMEOUT_MS = 5_000;
const CONTAINER_OWNER = -(1n << 63n);
const TTL_MASK = 0x0000_00ff_ffff_ffffn;

/** One server's side of a run: its sessions and the normalisation state. */
class SideRun {
  readonly clients: ZkRawClient[] = [];
  private readonly zxidIndex = new Map<bigint, number>();
  private readonly zxidsSorted: bigint[] = [];
  private readonly sessionOrdinals = new Map<bigint, number>();
  /** How many events of each session slot were already compared. */
  readonly eventsCompared: number[] = [];

  constructor(
    readonly name: SideName,
    readonly endpoint: Endpoint,
    readonly root: string,
    private readonly tolerate: ReadonlySet<Tolerance> = new Set(),
  ) {}

  async open(slot: number): Promise<void> {
    const c = await ZkRawClient.connect(this.endpoint.host, this.endpoint.port, { timeoutMs: 120_000 });
    this.sessionOrdinals.set(c.sessionId, this.sessionOrdinals.size + 1);
    this.clients[slot] = c;
    this.eventsCompared[slot] = 0;
  }

  rel(path: string): string {
    if (path === this.root) return "/";
    if (path.startsWith(this.root + "/")) return path.slice(this.root.length);
    return `!outside-root:${path}`;
  }

  private zxid(z: bigint): string {
    const known = this.zxidIndex.get(z);
    if (known !== undefined) return `z${known}`;
    const idx = this.zxidIndex.size;
    this.zxidIndex.set(z, idx);
    let rank = 0;
    while (rank < this.zxidsSorted.length && this.zxidsSorted[rank]! < z) rank++;
    this.zxidsSorted.splice(rank, 0, z);
    return `z${idx}(new, rank ${rank})`;
  }

  private owner(o: bigint): string {
    if (this.tolerate.has("ownerEncoding") && (o === CONTAINER_OWNER || BigInt.asUintN(64, o) >> 56n === 0xffn)) o = 0n;
    if (o === 0n) return "none";
    if (o === CONTAINER_OWNER) return "container";
    const u = BigInt.asUintN(64, o);
    if (u >> 56n === 0xffn) return `ttl(0x${u.toString(16)}, ${u & TTL_MASK} ms)`;
    const k = this.sessionOrdinals.get(o);
    return k === undefined ? `unknown-session` : `session${k}`;
  }

  stat(s: JuteStat): Record<string, unknown> {
    const timeOk = s.ctime > 0n && s.mtime >= s.ctime && (s.mzxid !== s.czxid || s.mtime === s.ctime);
    return {
      czxid: this.zxid(s.czxid),
      mzxid: this.zxid(s.mzxid),
      pzxid: this.zxid(s.pzxid),
      version: s.version,
      cversion: this.tolerate.has("cversion") ? 2 * s.cversion - s.numChildren : s.cversion,
      aversion: s.aversion,
      ephemeralOwner: this.owner(s.ephemeralOwner),
      dataLength: s.dataLength,
      numChildren: s.numChildren,
      times: timeOk ? "ok" : `inconsistent(ctime=${s.ctime}, mtime=${s.mtime})`,
    };
  }

  private data(d: Uint8Array | null): string | null {
    return d === null ? null : decoder.decode(d);
  }

  private multiResult(r: ZkMultiResult): unknown {
    switch (r.type) {
      case "create":
        return { type: "create", path: this.rel(r.path) };
      case "create2":
        return { type: "create2", path: this.rel(r.path), stat: this.stat(r.stat) };
      case "setData":
        return { type: "setData", stat: this.stat(r.stat) };
      case "error":
        return { type: "error", err: codeName(r.err) };
      default:
        return { type: r.type };
    }
  }

  private readResult(r: ZkMultiReadResult): unknown {
    switch (r.type) {
      case "getData":
        return { type: "getData", data: this.data(r.data), stat: this.stat(r.stat) };
      case "getChildren":
        return { type: "getChildren", children: [...r.children].sort() };
      case "error":
        return { type: "error", err: codeName(r.err) };
    }
  }

  /** The normalised reply: error code name and body. */
  reply(r: ZkReply): Record<string, unknown> {
    const out: Record<string, unknown> = { err: codeName(r.err) };
    const b = r.body;
    if (!b) return out;
    switch (b.type) {
      case "create":
      case "sync":
        out.path = this.rel(b.path);
        break;
      case "create2":
      case "createContainer":
      case "createTTL":
        out.path = this.rel(b.path);
        out.stat = this.stat(b.stat);
        break;
      case "exists":
      case "setData":
      case "setACL":
        out.stat = this.stat(b.stat);
        break;
      case "getData":
        out.data = this.data(b.data);
        out.stat = this.stat(b.stat);
        break;
      case "getChildren":
        out.children = [...b.children].sort();
        break;
      case "getChildren2":
        out.children = [...b.children].sort();
        out.stat = this.stat(b.stat);
        break;
      case "getACL":
        out.acl = b.acl.map((a) => `${a.scheme}:${a.id}:${a.perms}`);
        out.stat = this.stat(b.stat);
        break;
      case "multi":
        out.results = b.results.map((x) => this.multiResult(x));
        break;
      case "multiRead":
        out.results = b.results.map((x) => this.readResult(x));
        break;
      case "getAllChildrenNumber":
        out.totalNumber = b.totalNumber;
        break;
      case "getEphemerals":
        out.ephemerals = b.ephemerals.map((p) => this.rel(p)).sort();
        break;
      default:
        break;
    }
    return out;
  }

  /** Events of `slot` that can no longer move relative to replies (all if `all`), not yet compared. */
  settledEvents(slot: number, all: boolean): Array<Record<string, unknown>> {
    const c = this.clients[slot]!;
    const evs = c.events.filter((e) => all || e.afterReplies < c.replies);
    return evs.slice(this.eventsCompared[slot]).map((e) => ({ type: eventName(e.type), state: e.state, path: this.rel(e.path), afterReplies: e.afterReplies }));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  destroyAll(): void {
    for (const c of this.clients) c.destroy();
  }
}

const EVENT_NAMES: Record<number, string> = { [-1]: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged", 4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved", 7: "PersistentWatchRemoved" };
const eventName = (t: number): string => EVENT_NAMES[t] ?? `type${t}`;

/** The first place two normalised values differ, as a dotted path ("" when equal). */
export function firstDifference(a: unknown, b: unknown, at = ""): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) return `${at}.length`;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      if (d !== undefined) return d;
    }
  }
  return at || ".";
}

/** Strips array indexes and zxid labels so a signature survives removing unrelated ops. */
function signatureOf(kind: string, diffAt: string): string {
  return `${kind}${diffAt.replace(/\.\d+/g, "[]")}`;
}

const sortedByJson = <T>(xs: T[]): T[] => xs.map((x) => [JSON.stringify(x), x] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x);

/**
 * One round trip (exists of the run root, not compared) on every session but `except`: afterwards
 * every event the server sent to that session before has arrived.
 */
async function flush(sides: readonly SideRun[], except = -1): Promise<void> {
  await Promise.all(sides.flatMap((side) => side.clients.map((c, slot) => (slot === except ? undefined : c.request({ type: "exists", path: side.root, watch: false }, REPLY_TIMEOUT_MS)))));
}

export class Differ {
  private runs = 0;
  constructor(
    private readonly zookeeper: Endpoint,
    private readonly keeper: Endpoint,
    /** Prefix of the run roots, so several Differs can share servers. */
    private readonly tag = "r",
    /** Known Keeper divergences to look past (applied to Keeper's replies only). */
    private readonly tolerate: ReadonlySet<Tolerance> = new Set(),
  ) {}

  /** Runs `ops` on both servers under a fresh root and fresh sessions. */
  async run(ops: readonly DiffOp[]): Promise<RunResult> {
    const root = `/${this.tag}${++this.runs}`;
    const sides = [new SideRun("zookeeper", this.zookeeper, root), new SideRun("keeper", this.keeper, root, this.tolerate)] as const;
    const result: RunResult = { compared: 0, events: 0, replies: [], resolved: [] };
    try {
      for (const side of sides) for (let s = 0; s < SESSIONS; s++) await side.open(s);
      for (const side of sides) {
        const r = await side.clients[0]!.request({ type: "create", path: root, data: new Uint8Array(0), acl: [{ perms: 31, scheme: "world", id: "anyone" }], flags: 0 });
        if (r.err !== Code.OK) throw new Error(`${side.name}: could not create the run root ${root}: ${codeName(r.err)}`);
      }
      /** Paths created in this run outside the fixed alphabet (sequential names), as ZooKeeper named them. */
      const extra: string[] = [];
      const abs = (rel: string): string => {
        if (rel.startsWith("@")) rel = extra.length === 0 ? "/a" : extra[Number(rel.slice(1)) % extra.length]!;
        return rel === "/" ? root : root + rel;
      };
      const fixed = new Set<string>(PATHS);
      const noteCreated = (p: string): void => {
        const rel = sides[0].rel(p);
        if (!fixed.has(rel) && !rel.startsWith("!") && !extra.includes(rel)) extra.push(rel);
      };

      /**
       * Compares the newly settled events of every session: all that arrived for slot `allOf`
       * (every slot with -1), else those before the session's last reply. `asSet`: order aside.
       */
      const compareEvents = (index: number, allOf?: number, asSet = false): Divergence | undefined => {
        for (let s = 0; s < SESSIONS; s++) {
          const all = allOf === -1 || allOf === s;
          let a = sides[0].settledEvents(s, all);
          let b = sides[1].settledEvents(s, all);
          if (asSet) [a, b] = [sortedByJson(a), sortedByJson(b)];
          const d = firstDifference(a, b);
          if (d !== undefined) {
            return { index, signature: signatureOf(`events`, d.replace(/^\.\d+/, "")), what: `watch events of session slot s${s} differ (at ${d})`, zookeeper: a, keeper: b };
          }
          for (const side of sides) side.eventsCompared[s]! += a.length;
          result.events += a.length;
        }
        return undefined;
      };

      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        result.resolved.push(mapPaths(op, (p) => (p.startsWith("@") ? sides[0].rel(abs(p)) : p)));
        let replies: Array<Record<string, unknown>>;
        if (op.op === "reconnect") {
          // ZooKeeper deletes a closing session's ephemerals in hash-set order (CloseSessionTxn is
          // built from a HashSet), so the events one closeSession causes are compared as a set:
          // settle every earlier event first (a round trip on every session), close, settle again.
          await flush(sides);
          const before = compareEvents(i, -1);
          if (before) return { ...result, divergence: before };
          replies = await Promise.all(
            sides.map(async (side) => {
              try {
                return side.reply(await side.clients[op.s]!.request({ type: "closeSession" }, REPLY_TIMEOUT_MS));
              } catch (e) {
                return { failed: (e as Error).message };
              }
            }),
          );
          await flush(sides, op.s);
          const d = compareEvents(i, -1, true);
          if (d) return { ...result, divergence: d };
          for (const side of sides) side.clients[op.s]!.destroy();
          for (const side of sides) await side.open(op.s);
        } else {
          const req = toRequest(op, abs);
          const raw = await Promise.all(sides.map((side) => side.clients[op.s]!.request(req, REPLY_TIMEOUT_MS).catch((e: Error) => e)));
          replies = raw.map((r, k) => (r instanceof Error ? { failed: r.message } : sides[k]!.reply(r)));
          if (raw[0] instanceof Error && raw[1] instanceof Error) throw raw[0];
          const zkBody = raw[0] instanceof Error ? undefined : raw[0]!.body;
          if (zkBody && "path" in zkBody && zkBody.type !== "sync") noteCreated(zkBody.path);
          if (zkBody?.type === "multi") for (const x of zkBody.results) if (x.type === "create" || x.type === "create2") noteCreated(x.path);
        }
        result.replies.push(replies[0]);
        if (process.env.KEEPER_DIFF_TRACE) console.log(i, formatOp(op), JSON.stringify(replies[0]), JSON.stringify(replies[1]));
        const d = firstDifference(replies[0], replies[1]);
        if (d !== undefined) {
          return { ...result, divergence: { index: i, signature: signatureOf(op.op, d), what: `reply to op ${i} (${formatOp(op)}) differs at ${d}`, zookeeper: replies[0], keeper: replies[1] } };
        }
        result.compared++;
        const e = compareEvents(i);
        if (e) return { ...result, divergence: e };
      }
      // Flush: one more round trip per session, so every event caused by the ops has arrived.
      await flush(sides);
      const e = compareEvents(ops.length, -1);
      if (e) return { ...result, divergence: e };
      return result;
    } finally {
      await Promise.all(sides.map((s) => s.closeAll().catch(() => s.destroyAll())));
    }
  }
}
