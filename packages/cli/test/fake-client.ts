// An in-memory KeeperClient with ZooKeeper's rules for the parts the CLI uses: versions,
// NONODE / NODEEXISTS / NOTEMPTY / BADVERSION, sequential names and one-shot watches.
// Sequential names come from a counter of child creations, and Stat.cversion shows
// 2 * counter - numChildren, as ZooKeeper's DataNode.copyStat (and Keeper) show it.
import { Code, CreateMode, EventType, KeeperError, KeeperState, OPEN_ACL_UNSAFE, asSessionId, asZxid, isEphemeral, isSequential, nameOf, parentOf, sequenceSuffix, type Acl, type Stat } from "@keeper/protocol";
import type { ClientState, CreateOptions, KeeperClient, Watcher } from "../src/ports.ts";

interface Node {
  data: Uint8Array;
  stat: Stat;
  acl: Acl[];
  children: Set<string>;
  /** Child creations (and setSequence): the next sequential child's number. */
  sequence: number;
}

const encoder = new TextEncoder();
const bytes = (d: Uint8Array | string | undefined) => (typeof d === "string" ? encoder.encode(d) : (d ?? new Uint8Array()));

export class FakeClient implements KeeperClient {
  readonly nodes = new Map<string, Node>();
  /** Every call, as "method path", in order. */
  readonly calls: string[] = [];
  readonly createOptions: CreateOptions[] = [];
  private zxid = 0;
  private readonly dataWatches = new Map<string, Watcher[]>();
  private readonly childWatches = new Map<string, Watcher[]>();
  private readonly stateListeners: Array<(s: ClientState) => void> = [];
  closed = false;

  constructor(readonly sessionId = 0x1234, readonly now = Date.UTC(2024, 0, 2, 3, 4, 5)) {
    this.nodes.set("/", this.newNode(new Uint8Array(), 0));
  }

  private newNode(data: Uint8Array, owner: number): Node {
    const z = asZxid(this.zxid);
    const stat: Stat = { czxid: z, mzxid: z, pzxid: z, ctime: this.now, mtime: this.now, version: 0, cversion: 0, aversion: 0, ephemeralOwner: asSessionId(owner), dataLength: data.length, numChildren: 0 };
    return { data, stat, acl: [...OPEN_ACL_UNSAFE], children: new Set(), sequence: 0 };
  }

  private node(path: string): Node {
    const n = this.nodes.get(path);
    if (n === undefined) throw new KeeperError(Code.NONODE, undefined, path);
    return n;
  }

  private readonly persistent: Array<{ path: string; recursive: boolean; watcher: Watcher }> = [];
  /** Identities whoAmI reports (the ip one first, as the server does). */
  identities = [{ authScheme: "ip", user: "127.0.0.1" }];

  private fire(map: Map<string, Watcher[]>, path: string, type: number): void {
    const watchers = map.get(path) ?? [];
    map.delete(path);
    const event = { type: type as EventType, state: KeeperState.SyncConnected, path };
    for (const w of watchers) w(event);
    // Persistent watches see each event once, even though fire() runs per watch table.
    if (map !== this.dataWatches && type !== EventType.NodeChildrenChanged) return;
    for (const p of this.persistent) {
      const below = p.recursive && (p.path === "/" ? true : path.startsWith(p.path + "/"));
      if (p.path === path ? !(p.recursive && type === EventType.NodeChildrenChanged) : below && type !== EventType.NodeChildrenChanged) p.watcher(event);
    }
  }

  async addWatch(path: string, watcher: Watcher, opts: { recursive?: boolean } = {}): Promise<void> {
    this.calls.push(`addWatch ${path}${opts.recursive ? " recursive" : ""}`);
    this.persistent.push({ path, recursive: opts.recursive === true, watcher });
  }

  async addAuth(scheme: string, auth: string): Promise<void> {
    this.calls.push(`addAuth ${scheme}`);
    const colon = auth.indexOf(":");
    if (scheme !== "digest" || colon <= 0) throw new KeeperError(Code.AUTHFAILED);
    this.identities = [...this.identities, { authScheme: "digest", user: auth.slice(0, colon) }];
  }

  async whoAmI(): Promise<Array<{ authScheme: string; user: string }>> {
    this.calls.push("whoAmI");
    return this.identities;
  }

  private addOneShot(map: Map<string, Watcher[]>, path: string, watch: Watcher | undefined): void {
    if (watch) map.set(path, [...(map.get(path) ?? []), watch]);
  }

  async create(path: string, data?: Uint8Array | string, opts: CreateOptions = {}): Promise<string> {
    this.calls.push(`create ${path}`);
    this.createOptions.push(opts);
    const mode = opts.mode ?? CreateMode.PERSISTENT;
    const parentPath = parentOf(path.endsWith("/") ? path + "x" : path);
    const parent = this.node(parentPath);
    if (parent.stat.ephemeralOwner !== 0) throw new KeeperError(Code.NOCHILDRENFOREPHEMERALS, undefined, path);
    const sequential = isSequential(mode);
    const actual = sequential ? path + sequenceSuffix(parent.sequence) : path;
    if (this.nodes.has(actual)) throw new KeeperError(Code.NODEEXISTS, undefined, actual);
    this.zxid++;
    const ephemeral = isEphemeral(mode);
    const node = this.newNode(bytes(data), ephemeral ? this.sessionId : 0);
    if (opts.acl) node.acl = [...opts.acl];
    this.nodes.set(actual, node);
    parent.children.add(nameOf(actual));
    parent.sequence++;
    parent.stat.numChildren++;
    parent.stat.cversion = 2 * parent.sequence - parent.stat.numChildren;
    parent.stat.pzxid = asZxid(this.zxid);
    this.fire(this.dataWatches, actual, EventType.NodeCreated);
    this.fire(this.childWatches, parentPath, EventType.NodeChildrenChanged);
    return actual;
  }

  async delete(path: string, version = -1): Promise<void> {
    this.calls.push(`delete ${path}`);
    const n = this.node(path);
    if (version !== -1 && version !== n.stat.version) throw new KeeperError(Code.BADVERSION, undefined, path);
    if (n.children.size > 0) throw new KeeperError(Code.NOTEMPTY, undefined, path);
    this.zxid++;
    this.nodes.delete(path);
    const parent = this.node(parentOf(path));
    parent.children.delete(nameOf(path));
    parent.stat.numChildren--;
    parent.stat.cversion = 2 * parent.sequence - parent.stat.numChildren;
    this.fire(this.dataWatches, path, EventType.NodeDeleted);
    this.fire(this.childWatches, path, EventType.NodeDeleted);
    this.fire(this.childWatches, parentOf(path), EventType.NodeChildrenChanged);
  }

  async exists(path: string, opts: { watch?: Watcher } = {}): Promise<Stat | null> {
    this.calls.push(`exists ${path}`);
    this.addOneShot(this.dataWatches, path, opts.watch);
    return this.nodes.get(path)?.stat ?? null;
  }

  async getData(path: string, opts: { watch?: Watcher } = {}): Promise<{ data: Uint8Array; stat: Stat }> {
    this.calls.push(`getData ${path}`);
    const n = this.node(path);
    this.addOneShot(this.dataWatches, path, opts.watch);
    return { data: n.data, stat: { ...n.stat } };
  }

  async setData(path: string, data: Uint8Array | string, version = -1): Promise<Stat> {
    this.calls.push(`setData ${path}`);
    const n = this.node(path);
    if (version !== -1 && version !== n.stat.version) throw new KeeperError(Code.BADVERSION, undefined, path);
    this.zxid++;
    n.data = bytes(data);
    n.stat.version++;
    n.stat.dataLength = n.data.length;
    n.stat.mzxid = asZxid(this.zxid);
    this.fire(this.dataWatches, path, EventType.NodeDataChanged);
    return { ...n.stat };
  }

  async getChildren(path: string, opts: { watch?: Watcher } = {}): Promise<{ children: string[]; stat: Stat }> {
    this.calls.push(`getChildren ${path}`);
    const n = this.node(path);
    this.addOneShot(this.childWatches, path, opts.watch);
    // Deliberately unsorted, to show that the CLI sorts.
    return { children: [...n.children].reverse(), stat: { ...n.stat } };
  }

  async sync(path: string): Promise<unknown> {
    this.calls.push(`sync ${path}`);
    return path;
  }

  async getACL(path: string): Promise<{ acl: Acl[]; stat: Stat }> {
    this.calls.push(`getACL ${path}`);
    const n = this.node(path);
    return { acl: n.acl, stat: { ...n.stat } };
  }

  async setACL(path: string, acl: Acl[], version = -1): Promise<unknown> {
    this.calls.push(`setACL ${path}`);
    const n = this.node(path);
    if (version !== -1 && version !== n.stat.aversion) throw new KeeperError(Code.BADVERSION, undefined, path);
    n.acl = acl;
    n.stat.aversion++;
    return { ...n.stat };
  }

  async setSequence(path: string, next: number): Promise<unknown> {
    this.calls.push(`setSequence ${path} ${next}`);
    const n = this.node(path);
    n.sequence = Math.max(n.sequence, next);
    n.stat.cversion = 2 * n.sequence - n.stat.numChildren;
    return { ...n.stat };
  }

  on(_event: "state", listener: (state: ClientState) => void): this {
    this.stateListeners.push(listener);
    return this;
  }

  emitState(state: ClientState): void {
    for (const l of this.stateListeners) l(state);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Adds persistent nodes with text data, parents first. */
export async function seed(client: FakeClient, entries: Record<string, string>): Promise<void> {
  for (const [path, data] of Object.entries(entries)) await client.create(path, data);
  client.calls.length = 0;
  client.createOptions.length = 0;
}

