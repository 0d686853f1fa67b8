// Runs one sequence of DiffOps against ZooKeeper and Keeper side by side, under a fresh root
// /<tag><N> with fresh sessions (so any sequence can be replayed without restarting a server),
// normalises every reply and the watch events, and stops at the first divergence.
//
// Keeper is an ensemble: each session is on one member (slot s starts on member s), an op naming
// another member first moves its session there (SideRun.move: resume with the last zxid seen,
// auth packets again, setWatches for the outstanding watches), and a session on a member that a
// change has not been acknowledged through since it last synced syncs the run root first. The
// ZooKeeper side does the same on its one server, so both sides send the same requests and count
// the same replies; those syncs are not compared, the replies to a move's auth packets and
// setWatches are.
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
//    (ZooKeeper returns a HashSet's order). ACLs are "scheme:id:perms" in the server's order.
//  - watch events are compared per session, in order, as (type, state, path, and how many replies
//    that session's connection had received when the event arrived): ZooKeeper delivers a watch
//    event before the reply that follows the change, and before any later reply on that
//    connection. A move settles (a sync) and compares the old connection's events first; the new
//    connection counts from zero on both sides.
//  - Tolerances (below) look past pending Keeper divergences, each pinned by an it.fails test.
import { Code, codeName, type ZkReply } from "@keeper/protocol";
import { formatOp, initialMember, INITIAL_AUTH, mapPaths, mayWrite, PATHS, SESSIONS, toRequest, type DiffOp } from "./ops.ts";
import { expansionsSorted, redactedLike, REPLY_TIMEOUT_MS, SideRun, type Endpoint, type Tolerance } from "./side.ts";

export type { Endpoint, Tolerance } from "./side.ts";

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
  /**
   * What the run reached, counted so a test can check it did real work: "move" (a session
   * resumed on another member), "move:setWatches" (and re-registered watches), "move:refused"
   * (a member behind the session refused it first), "resume", "resume:setWatches" and
   * "resume:refused" (the same for a session whose connection a disconnect op dropped),
   * "resume:fired" (events its setWatches fired at once: changes it missed while away), "sync"
   * (syncs before an op), "write@<m>" (changes through Keeper member m), "authenticated" (ops
   * from sessions with an identity),
   * "nullData" (creates and setData with a null buffer, "nullData:multi" inside multis),
   * "err:<CODE>" (ZooKeeper's reply codes, multi sub-results included), "acl:<name>:<CODE>"
   * (the outcome of each ACL list on create and setACL, inside multis too).
   */
  reached: Record<string, number>;
}

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

/** Counts what `op` and ZooKeeper's reply to it reached (see RunResult.reached). */
function countReached(op: DiffOp, reply: ZkReply | undefined, count: (key: string) => void): void {
  if (!reply) return;
  const err = codeName(reply.err);
  count(`err:${err}`);
  if ("data" in op && op.data === null) count("nullData");
  if ("acl" in op && op.acl !== undefined) count(`acl:${op.acl}:${err}`);
  if (op.op !== "multi" || reply.body?.type !== "multi") return;
  op.ops.forEach((sub, k) => {
    const res = (reply.body as Extract<ZkReply["body"], { type: "multi" }>).results[k];
    const subErr = res === undefined ? "none" : res.type === "error" ? codeName(res.err) : "OK";
    if (res?.type === "error") count(`err:${subErr}`);
    if ("data" in sub && sub.data === null) count("nullData:multi");
    if ("acl" in sub && sub.acl !== undefined) count(`acl:${sub.acl}:${subErr}`);
  });
}

/**
 * A sync of the run root (not compared) on `slot`'s session on both sides: afterwards the member
 * it is on has applied every write acknowledged before (ZooKeeper's guarantee for a session that
 * syncs), and every event that member sent to the session before has arrived.
 */
async function syncSlot(sides: readonly SideRun[], slot: number): Promise<void> {
  await Promise.all(sides.map((side) => side.clients[slot]!.request({ type: "sync", path: side.root }, REPLY_TIMEOUT_MS)));
}

/** syncSlot on each of `slots`. */
async function flush(sides: readonly SideRun[], slots: readonly number[]): Promise<void> {
  await Promise.all(slots.map((slot) => syncSlot(sides, slot)));
}

export class Differ {
  private runs = 0;
  constructor(
    private readonly zookeeper: Endpoint,
    /** Keeper's members (an ensemble; one for a single node). */
    private readonly keeper: readonly Endpoint[],
    /** Prefix of the run roots, so several Differs can share servers. */
    private readonly tag = "r",
    /** Known Keeper divergences to look past (see Tolerance). */
    private readonly tolerate: ReadonlySet<Tolerance> = new Set(),
  ) {}

  /** Runs `ops` on both servers under a fresh root and fresh sessions. */
  async run(ops: readonly DiffOp[]): Promise<RunResult> {
    const run = new Run(`/${this.tag}${++this.runs}`, this.zookeeper, this.keeper, this.tolerate);
    try {
      await run.start();
      for (let i = 0; i < ops.length; i++) {
        const d = await run.step(i, ops[i]!);
        if (d) return { ...run.result, divergence: d };
      }
      const d = await run.finish(ops.length);
      return d ? { ...run.result, divergence: d } : run.result;
    } finally {
      await run.close();
    }
  }
}

type Replies = Array<Record<string, unknown>>;

/** One run of one sequence: both sides, where each session is, and what has been compared. */
class Run {
  readonly result: RunResult = { compared: 0, events: 0, replies: [], resolved: [], reached: {} };
  private readonly sides: readonly [SideRun, SideRun];
  private readonly members: number;
  /**
   * Keeper members that may not have applied every change acknowledged so far: a change is
   * acknowledged by the member it went through once that member applied it, the others follow.
   * A session on such a member syncs before its next op (on both sides, see syncSlot).
   */
  private readonly stale = new Set<number>();
  /** Slots whose connection a "disconnect" dropped; the session resumes with its next op. */
  private readonly detached: boolean[] = [];
  /** Paths created in this run outside the fixed alphabet (sequential names), as ZooKeeper named them. */
  private readonly extra: string[] = [];

  constructor(
    private readonly root: string,
    zookeeper: Endpoint,
    keeper: readonly Endpoint[],
    private readonly tolerate: ReadonlySet<Tolerance>,
  ) {
    this.sides = [new SideRun("zookeeper", [zookeeper], root), new SideRun("keeper", keeper, root, tolerate)];
    this.members = keeper.length;
  }

  /** Opens every slot's session (on its initial member, authenticated as INITIAL_AUTH) and creates the root. */
  async start(): Promise<void> {
    for (const side of this.sides) {
      for (let s = 0; s < SESSIONS; s++) {
        const auth = await side.open(s, initialMember(s, this.members), INITIAL_AUTH[s] ?? []);
        for (const a of auth) if (a.err !== "OK") throw new Error(`${side.name}: the auth packet of session slot ${s} failed: ${JSON.stringify(a)}`);
      }
    }
    for (const side of this.sides) {
      const r = await side.clients[0]!.request({ type: "create", path: this.root, data: new Uint8Array(0), acl: [{ perms: 31, scheme: "world", id: "anyone" }], flags: 0 });
      if (r.err !== Code.OK) throw new Error(`${side.name}: could not create the run root ${this.root}: ${codeName(r.err)}`);
    }
    this.changedThrough(this.sides[1].at[0]!);
  }

  /** Runs op `i` on both sides and compares its replies and the events settled by then. */
  async step(i: number, op: DiffOp): Promise<Divergence | undefined> {
    this.result.resolved.push(mapPaths(op, (p) => (p.startsWith("@") ? this.sides[0].rel(this.abs(p)) : p)));
    const placed = await this.place(i, op);
    if (placed) return placed;
    const done = await this.perform(i, op);
    if ("divergence" in done) return done.divergence;
    let replies = done.replies;
    if (op.op === "getACL" && this.tolerate.has("authExpansionOrder")) replies = replies.map(expansionsSorted);
    if (op.op === "getACL" && this.tolerate.has("digestRedaction")) replies[1] = redactedLike(replies[0]!, replies[1]!);
    this.result.replies.push(replies[0]);
    this.trace(() => `${i} ${formatOp(op)} ${JSON.stringify(replies[0])} ${JSON.stringify(replies[1])}`);
    const d = firstDifference(replies[0], replies[1]);
    if (d !== undefined) return { index: i, signature: signatureOf(op.op, d), what: `reply to op ${i} (${formatOp(op)}) differs at ${d}`, zookeeper: replies[0], keeper: replies[1] };
    this.result.compared++;
    return this.compareEvents(i);
  }

  /** The op itself, on both sides: its replies, or a divergence found on the way (events, a new session's auth). */
  private async perform(i: number, op: DiffOp): Promise<{ replies: Replies } | { divergence: Divergence }> {
    switch (op.op) {
      case "reconnect":
        return this.reconnect(i, op);
      case "disconnect":
        return this.disconnect(i, op.s);
      case "addAuth":
        return { replies: await Promise.all(this.sides.map((side) => side.addAuth(op.s, op.user))) };
      default:
        return { replies: await this.request(op) };
    }
  }

  /**
   * After the last op: resumes dropped sessions (setWatches fires what they missed), then one
   * more round trip per session, so that every event the ops caused has arrived and is compared.
   */
  async finish(index: number): Promise<Divergence | undefined> {
    for (let slot = 0; slot < SESSIONS; slot++) {
      if (!this.detached[slot]) continue;
      const d = await this.place(index, { s: slot, op: "sync", path: "/" });
      if (d) return d;
    }
    await flush(this.sides, this.connected());
    return this.compareEvents(index, -1);
  }

  async close(): Promise<void> {
    await Promise.all(this.sides.map((s) => s.closeAll().catch(() => s.destroyAll())));
  }

  private abs(rel: string): string {
    if (rel.startsWith("@")) rel = this.extra.length === 0 ? "/a" : this.extra[Number(rel.slice(1)) % this.extra.length]!;
    return rel === "/" ? this.root : this.root + rel;
  }

  private noteCreated(p: string): void {
    const rel = this.sides[0].rel(p);
    if (!(PATHS as readonly string[]).includes(rel) && !rel.startsWith("!") && !this.extra.includes(rel)) this.extra.push(rel);
  }

  private count(key: string, n = 1): void {
    this.result.reached[key] = (this.result.reached[key] ?? 0) + n;
  }

  /** KEEPER_DIFF_TRACE=1: every op with both replies, moves, events. */
  private trace(line: () => string): void {
    if (process.env.KEEPER_DIFF_TRACE) console.log(line());
  }

  /** The slots with a connection, but `except`. */
  private connected(except = -1): number[] {
    return Array.from({ length: SESSIONS }, (_, k) => k).filter((k) => k !== except && !this.detached[k]);
  }

  private changedThrough(member: number): void {
    for (let k = 0; k < this.members; k++) if (k !== member % this.members) this.stale.add(k);
  }

  /**
   * Compares the newly settled events of every session: all that arrived for slot `allOf`
   * (every slot with -1), else those before the session's last reply. `asSet`: order aside.
   */
  private compareEvents(index: number, allOf?: number, asSet = false): Divergence | undefined {
    for (let s = 0; s < SESSIONS; s++) {
      const all = allOf === -1 || allOf === s;
      let a = this.sides[0].settledEvents(s, all);
      let b = this.sides[1].settledEvents(s, all);
      if (asSet) [a, b] = [sortedByJson(a), sortedByJson(b)];
      const d = firstDifference(a, b);
      if (d !== undefined) return { index, signature: signatureOf(`events`, d.replace(/^\.\d+/, "")), what: `watch events of session slot s${s} differ (at ${d})`, zookeeper: a, keeper: b };
      for (const side of this.sides) side.eventsCompared[s]! += a.length;
      this.result.events += a.length;
      if (a.length > 0) this.trace(() => `   events of s${s}: ${JSON.stringify(a)}`);
    }
    return undefined;
  }

  /** Compares the replies to what a move or a new session sent besides the op (auth, sync, setWatches). */
  private compareHousekeeping(index: number, what: string, replies: Replies[]): Divergence | undefined {
    const d = firstDifference(replies[0], replies[1]);
    if (d === undefined) return undefined;
    return { index, signature: signatureOf(what, d), what: `${what} before op ${index} differs at ${d}`, zookeeper: replies[0], keeper: replies[1] };
  }

  /**
   * Puts `op`'s session where the op needs it: a dropped connection resumes (on the op's
   * member; a reconnect closes the session where it was), a session moves to the member the
   * op names, and a session on a member that may be behind syncs.
   */
  private async place(i: number, op: DiffOp): Promise<Divergence | undefined> {
    const { sides, members, stale } = this;
    const at = sides[1].at[op.s]!;
    const target = op.op === "reconnect" ? at : (op.m ?? at);
    let how: "move" | "resume";
    let syncFirst = false;
    if (this.detached[op.s]) {
      // Its events were compared when it dropped. If the member may be behind, a sync before
      // setWatches, so that what setWatches fires does not depend on how far behind it is.
      syncFirst = stale.has(target % members);
      how = "resume";
    } else if (target !== at) {
      // Settle the old connection's events (a sync) and compare them, then move, on both sides
      // (ZooKeeper's side reconnects to its one server, so that replies and events stay aligned).
      await syncSlot(sides, op.s);
      const before = this.compareEvents(i, op.s);
      if (before) return before;
      how = "move";
    } else {
      if (op.op !== "reconnect" && stale.has(at % members)) {
        // A change went through another member since this one last synced: ZooKeeper promises
        // a session sees it only after a sync.
        await syncSlot(sides, op.s);
        this.count("sync");
        stale.delete(at % members);
      }
      return undefined;
    }
    const moved = await Promise.all(sides.map((side) => side.move(op.s, target, syncFirst)));
    this.detached[op.s] = false;
    this.count(how);
    if (moved[0]!.some((r) => r.type === "setWatches")) this.count(`${how}:setWatches`);
    this.count(`${how}:refused`, sides[1].refused);
    this.count(`${how}:fired`, sides[0].fired);
    sides[1].refused = 0;
    for (const side of sides) side.fired = 0;
    this.trace(() => `   s${op.s} ${how} on member ${target} (watches ${sides[0].watches[op.s]!.toString()}): ${JSON.stringify(moved[0])} ${JSON.stringify(moved[1])}; fired ${JSON.stringify(sides[0].settledEvents(op.s, true))}`);
    // A moved session's member took it only once it had reached the zxid the session had seen,
    // which the sync before made the latest; a resumed one is current if it synced.
    if (how === "move" || syncFirst) stale.delete(target % members);
    return this.compareHousekeeping(i, how, moved);
  }

  /**
   * closeSession, then a new session in the slot. ZooKeeper deletes a closing session's
   * ephemerals in hash-set order (CloseSessionTxn is built from a HashSet), so the events one
   * closeSession causes are compared as a set: settle every earlier event first (a sync on every
   * session), close, settle again.
   */
  private async reconnect(i: number, op: Extract<DiffOp, { op: "reconnect" }>): Promise<{ replies: Replies } | { divergence: Divergence }> {
    const { sides } = this;
    await flush(sides, this.connected());
    const before = this.compareEvents(i, -1);
    if (before) return { divergence: before };
    const replies = await Promise.all(
      sides.map(async (side) => {
        try {
          return side.reply(await side.clients[op.s]!.request({ type: "closeSession" }, REPLY_TIMEOUT_MS));
        } catch (e) {
          return { failed: (e as Error).message };
        }
      }),
    );
    await flush(sides, this.connected(op.s));
    const after = this.compareEvents(i, -1, true);
    if (after) return { divergence: after };
    for (const side of sides) side.clients[op.s]!.destroy();
    const opened = await Promise.all(sides.map((side) => side.open(op.s, op.m ?? side.at[op.s]!, op.auth)));
    const h = this.compareHousekeeping(i, "auth", opened);
    if (h) return { divergence: h };
    // The other sessions synced after the close; the new session's member may not have applied it yet.
    for (let k = 0; k < this.members; k++) this.stale.add(k);
    for (let k = 0; k < SESSIONS; k++) if (k !== op.s) this.stale.delete(sides[1].at[k]! % this.members);
    return { replies };
  }

  /** Drops the slot's connection after settling and comparing its events; the session lives on. */
  private async disconnect(i: number, slot: number): Promise<{ replies: Replies } | { divergence: Divergence }> {
    await syncSlot(this.sides, slot);
    const d = this.compareEvents(i, slot);
    if (d) return { divergence: d };
    for (const side of this.sides) side.detach(slot);
    this.detached[slot] = true;
    return { replies: [{ disconnected: true }, { disconnected: true }] };
  }

  /** An op that is one request: sends it on both sides, notes watches, created paths and what it reached. */
  private async request(op: Exclude<DiffOp, { op: "reconnect" | "disconnect" }>): Promise<Replies> {
    const { sides } = this;
    const req = toRequest(op, (p) => this.abs(p));
    const raw = await Promise.all(sides.map((side) => side.clients[op.s]!.request(req, REPLY_TIMEOUT_MS).catch((e: Error) => e)));
    if (raw[0] instanceof Error && raw[1] instanceof Error) throw raw[0];
    raw.forEach((r, k) => {
      if (!(r instanceof Error)) sides[k]!.watches[op.s]!.registered(sides[k]!.clients[op.s]!, req, r);
    });
    const zk = raw[0] instanceof Error ? undefined : raw[0]!;
    const body = zk?.body;
    if (body && "path" in body && body.type !== "sync") this.noteCreated(body.path);
    if (body?.type === "multi") for (const x of body.results) if (x.type === "create" || x.type === "create2") this.noteCreated(x.path);
    const changed = body !== undefined && (body.type !== "multi" || body.results.every((x) => x.type !== "error"));
    if (mayWrite(op) && changed) {
      this.changedThrough(sides[1].at[op.s]!);
      this.count(`write@${sides[1].at[op.s]! % this.members}`);
    }
    countReached(op, zk, (key) => this.count(key));
    if (sides[0].users[op.s]!.length > 0) this.count("authenticated");
    return raw.map((r, k) => (r instanceof Error ? { failed: r.message } : sides[k]!.reply(r)));
  }
}
