// One server's side of a differential run (./run.ts): its sessions, which member each is on,
// what each session's client knows (its outstanding watches, whom it authenticated as, the last
// zxid it saw), moving a session to another member as a client failing over does, and the
// normalisation of replies and events (documented at the top of ./run.ts). Also the tolerances,
// the pending Keeper divergences a caller may choose to look past.
import { AUTH_XID, codeName, SET_WATCHES_XID, type JuteStat, type ZkMultiReadResult, type ZkMultiResult, type ZkReply } from "@keeper/protocol";
import { ZkRawClient } from "../../support/zk-raw.ts";
import { authRequest, type User } from "./ops.ts";
import { ClientWatches } from "./watches.ts";

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
 *  - "digestRedaction": ZooKeeper's getACL shows a session without ADMIN on the node every
 *    digest id as "user:x" (FinalRequestProcessor); Keeper shows the hash. Tolerated by taking
 *    ZooKeeper's "user:x" for a Keeper entry that differs from it only there.
 *  - "authExpansionOrder": ZooKeeper expands an `auth` entry to the session's identities in the
 *    iteration order of the ConcurrentHashMap-backed set that holds them (ServerCnxn.authInfo),
 *    Keeper in the order they were added. Tolerated by sorting, on both sides, each run of
 *    consecutive digest entries with the same permissions in a getACL reply (what one expansion
 *    produces; an explicit list of digest entries with equal permissions is sorted too).
 */
export type Tolerance = "cversion" | "ownerEncoding" | "digestRedaction" | "authExpansionOrder";

/** A getACL reply with each run of consecutive digest entries of equal permissions sorted. */
export function expansionsSorted(reply: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(reply.acl)) return reply;
  const perms = (e: string): string => e.slice(e.lastIndexOf(":") + 1);
  const out: string[] = [];
  let run: string[] = [];
  const flush = (): void => {
    out.push(...run.sort());
    run = [];
  };
  for (const e of reply.acl as string[]) {
    if (!e.startsWith("digest:")) {
      flush();
      out.push(e);
      continue;
    }
    if (run.length > 0 && perms(run[0]!) !== perms(e)) flush();
    run.push(e);
  }
  flush();
  return { ...reply, acl: out };
}

/** `keeper`'s getACL reply with each digest entry redacted as ZooKeeper did where it did ("digest:user:x:perms"). */
export function redactedLike(zookeeper: Record<string, unknown>, keeper: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(zookeeper.acl) || !Array.isArray(keeper.acl)) return keeper;
  const z = zookeeper.acl as string[];
  const acl = (keeper.acl as string[]).map((entry, i) => {
    const perms = entry.slice(entry.lastIndexOf(":"));
    const id = entry.slice("digest:".length, entry.length - perms.length);
    const redacted = `digest:${id.replace(/:.*/, ":x")}${perms}`;
    return entry.startsWith("digest:") && redacted === z[i] ? redacted : entry;
  });
  return { ...keeper, acl };
}

const decoder = new TextDecoder();
/** A reply that takes longer than this is a divergence ("failed") rather than a hang. */
export const REPLY_TIMEOUT_MS = 5_000;
/** Asked for by every session; both servers grant it (see servers.ts), and no session expires during a run. */
const SESSION_TIMEOUT_MS = 120_000;
const CONTAINER_OWNER = -(1n << 63n);
const TTL_MASK = 0x0000_00ff_ffff_ffffn;

/** How long a resuming session keeps retrying a member that is behind what it has seen. */
const RESUME_DEADLINE_MS = 10_000;

/**
 * One server's side of a run: its sessions, where each is connected (an index into `members`;
 * ZooKeeper has one, so every member index maps to it) and the normalisation state.
 */
export class SideRun {
  readonly clients: ZkRawClient[] = [];
  /** The member each slot's session is connected to (as an op names it; modulo `members`). */
  readonly at: number[] = [];
  /** Each slot's outstanding one-shot watches, as its client knows them. */
  readonly watches: ClientWatches[] = [];
  /** Whom each slot's session has authenticated as, in order, to repeat after a move. */
  readonly users: User[][] = [];
  private readonly zxidIndex = new Map<bigint, number>();
  private readonly zxidsSorted: bigint[] = [];
  private readonly sessionOrdinals = new Map<bigint, number>();
  /** How many events of each session slot's current connection were already compared. */
  readonly eventsCompared: number[] = [];
  /** Resumes a member refused (it was behind the session), since the caller last read this. */
  refused = 0;
  /** Events a move's setWatches fired at once (changes the session missed), since the caller last read this. */
  fired = 0;

  constructor(
    readonly name: SideName,
    readonly members: readonly Endpoint[],
    readonly root: string,
    private readonly tolerate: ReadonlySet<Tolerance> = new Set(),
  ) {}

  private endpoint(member: number): Endpoint {
    return this.members[member % this.members.length]!;
  }

  /** A new session for `slot` on `member`, then its auth packets; the auth replies (normalised). */
  async open(slot: number, member: number, users: readonly User[]): Promise<Array<Record<string, unknown>>> {
    const e = this.endpoint(member);
    const c = await ZkRawClient.connect(e.host, e.port, { timeoutMs: SESSION_TIMEOUT_MS });
    this.sessionOrdinals.set(c.sessionId, this.sessionOrdinals.size + 1);
    this.clients[slot] = c;
    this.at[slot] = member;
    this.eventsCompared[slot] = 0;
    this.watches[slot] = new ClientWatches();
    this.users[slot] = [];
    const replies: Array<Record<string, unknown>> = [];
    for (const u of users) replies.push(await this.addAuth(slot, u));
    return replies;
  }

  /** An auth packet on `slot`'s session (xid -4); the user is remembered for later moves. */
  async addAuth(slot: number, user: User): Promise<Record<string, unknown>> {
    this.users[slot]!.push(user);
    try {
      return this.reply(await this.clients[slot]!.request(authRequest(user), REPLY_TIMEOUT_MS, AUTH_XID));
    } catch (e) {
      return { failed: (e as Error).message };
    }
  }

  /** Drops `slot`'s connection, keeping the session (the caller has compared its events). */
  detach(slot: number): void {
    const c = this.clients[slot]!;
    this.watches[slot]!.catchUp(c);
    c.destroy();
  }

  /**
   * Moves `slot`'s session to `member` as a client failing over does: drop the connection (if
   * not dropped already), resume the session there with the last zxid it saw (a member behind
   * that refuses, and is asked again until it has caught up), send its auth packets again, then
   * re-register its outstanding watches with setWatches at that zxid. `syncFirst`: a sync of the
   * run root before setWatches, so that the member has applied every acknowledged change when it
   * compares the watches with its tree. The caller has compared the old connection's events.
   * Returns the replies (normalised) to the auth packets, the sync and setWatches.
   */
  async move(slot: number, member: number, syncFirst = false): Promise<Array<Record<string, unknown>>> {
    const old = this.clients[slot]!;
    const w = this.watches[slot]!;
    w.catchUp(old);
    old.destroy();
    const e = this.endpoint(member);
    const deadline = Date.now() + RESUME_DEADLINE_MS;
    let c: ZkRawClient;
    for (;;) {
      try {
        c = await ZkRawClient.connect(e.host, e.port, { timeoutMs: SESSION_TIMEOUT_MS, resume: { sessionId: old.sessionId, passwd: old.passwd }, lastZxidSeen: old.lastZxid });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${this.name}: session slot ${slot} could not resume on member ${member} within ${RESUME_DEADLINE_MS} ms: ${(err as Error).message}`);
        this.refused++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    if (c.sessionId !== old.sessionId) throw new Error(`${this.name}: resuming session 0x${old.sessionId.toString(16)} gave 0x${c.sessionId.toString(16)}`);
    this.clients[slot] = c;
    this.at[slot] = member;
    this.eventsCompared[slot] = 0;
    w.newConnection();
    const users = this.users[slot]!;
    this.users[slot] = [];
    const replies: Array<Record<string, unknown>> = [];
    for (const u of users) replies.push(await this.addAuth(slot, u));
    if (syncFirst) replies.push({ type: "sync", ...this.reply(await c.request({ type: "sync", path: this.root }, REPLY_TIMEOUT_MS)) });
    const sw = w.setWatches(old.lastZxid);
    if (sw) {
      try {
        replies.push({ type: "setWatches", ...this.reply(await c.request(sw, REPLY_TIMEOUT_MS, SET_WATCHES_XID)) });
        this.fired += c.events.length;
      } catch (err) {
        replies.push({ type: "setWatches", failed: (err as Error).message });
      }
    }
    return replies;
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

