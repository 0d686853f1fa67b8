// A local copy of a subtree kept current by watches (Curator's TreeCache). Every change
// marks a path dirty; one pass at a time re-reads the dirty paths (a level at a time, so a
// parent's view of its children is settled before its children are read) and reports
// what changed. After a reconnect the whole tree is re-read (the client re-arms watches by
// itself, the re-read is a cheap guard); after session expiry a cache built on a client
// factory rebuilds with a new client, one built on a plain client reports and stops.

import { Code, EventType, type Stat } from "@keeper/protocol";
import type { KeeperClient } from "../client.ts";
import type { ClientState } from "../session.ts";
import type { WatchEvent } from "../watches.ts";
import { ClientHandle, RecipeEvents, type ClientSource } from "./client-handle.ts";
import { RecipeError } from "./errors.ts";
import { endedError, isCode, joinPath, sameStat, SerialRunner, translate } from "./internal.ts";

export interface TreeCacheOptions {
  /** How deep below the root to follow: 0 the root only, 1 its children, ...; default unlimited. */
  maxDepth?: number;
}

export interface CachedNode {
  path: string;
  data: Uint8Array;
  stat: Stat;
}

export interface TreeCacheChange {
  type: "added" | "updated" | "removed";
  path: string;
  /** The node now (added, updated) or as it was last seen (removed). */
  node: CachedNode;
}

export type TreeCacheEvents = {
  change: [TreeCacheChange];
  /** The first full read after start() (and after each rebuild) is done. */
  initialized: [];
  /** A read failed for a reason other than connection loss; or the session ended and the cache stopped. */
  error: [Error];
};

interface Entry {
  node: CachedNode;
  /** Child names, when this depth follows children. */
  children: Set<string> | undefined;
  childrenPzxid: number;
}

/**
 * ```ts
 * const cache = new TreeCache(client, "/config");
 * cache.on("change", (c) => console.log(c.type, c.path));
 * await cache.start();
 * cache.get("/config/db")?.data;
 * ```
 */
export class TreeCache extends RecipeEvents<TreeCacheEvents> {
  private readonly handle: ClientHandle;
  private readonly ownsHandle: boolean;
  private readonly maxDepth: number;
  private readonly entries = new Map<string, Entry>();
  /** Dirty paths and whether their children must be re-read too. */
  private readonly dirty = new Map<string, boolean>();
  private readonly runner: SerialRunner;
  private running = false;
  private wasDisconnected = false;
  private readonly watcher = (event: WatchEvent): void => {
    if (!this.running) return;
    this.mark(event.path, event.type === EventType.NodeCreated);
  };

  constructor(client: ClientSource | ClientHandle, readonly root: string, options: TreeCacheOptions = {}) {
    super();
    this.ownsHandle = !(client instanceof ClientHandle);
    this.handle = client instanceof ClientHandle ? client : new ClientHandle(client);
    this.maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
    this.runner = new SerialRunner(() => this.drain(), (e) => this.emitter.emit("error", e instanceof Error ? e : new Error(String(e))));
    this.handle.events.on("state", (state, c) => this.onState(state, c));
  }

  /** Reads the whole subtree and sets the watches; resolves once the copy is complete. */
  async start(): Promise<void> {
    if (this.running) throw new RecipeError("BUSY", "the cache is already started");
    this.running = true;
    await this.handle.get();
    await this.rebuild();
  }

  /** Stops following changes; a client made by a factory is closed. */
  async close(): Promise<void> {
    this.running = false;
    this.dirty.clear();
    if (this.ownsHandle) await this.handle.close();
  }

  get(path: string): CachedNode | undefined {
    return this.entries.get(path)?.node;
  }

  /** Child names of a cached node (sorted), or undefined when the node is not cached or deeper than maxDepth. */
  children(path: string): string[] | undefined {
    const c = this.entries.get(path)?.children;
    return c === undefined ? undefined : [...c].sort();
  }

  /** Every cached node, sorted by path. */
  nodes(): CachedNode[] {
    return [...this.entries.values()].map((e) => e.node).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  get size(): number {
    return this.entries.size;
  }

  private async rebuild(): Promise<void> {
    this.mark(this.root, true);
    await this.runner.trigger();
    if (this.running) this.emitter.emit("initialized");
  }

  private mark(path: string, deep: boolean): void {
    this.dirty.set(path, (this.dirty.get(path) ?? false) || deep);
    void this.runner.trigger();
  }

  private async drain(): Promise<void> {
    while (this.running && this.dirty.size > 0) {
      const client = this.handle.current;
      if (client === undefined || endedError(client) !== undefined) return;
      // Shallowest first, one depth at a time; siblings are read together.
      const depthMin = Math.min(...[...this.dirty.keys()].map((p) => this.depthOf(p)));
      const batch = [...this.dirty].filter(([p]) => this.depthOf(p) === depthMin);
      for (const [p] of batch) this.dirty.delete(p);
      try {
        await Promise.all(batch.map(([p, deep]) => this.refresh(client, p, deep)));
      } catch (e) {
        // Put the batch back so nothing is lost; a lost connection is followed by a full re-read.
        for (const [p, deep] of batch) this.dirty.set(p, (this.dirty.get(p) ?? false) || deep);
        const t = translate(client, e);
        if (isCode(t, Code.CONNECTIONLOSS) || endedError(client) !== undefined) return;
        throw t;
      }
    }
  }

  private depthOf(path: string): number {
    if (path === this.root) return 0;
    const rest = this.root === "/" ? path : path.slice(this.root.length);
    return rest.split("/").length - 1;
  }

  /** Whether `path` belongs to the cached tree as far as its parent knows. */
  private tracked(path: string): boolean {
    if (path === this.root) return true;
    const cut = path.lastIndexOf("/");
    const parent = cut === 0 ? "/" : path.slice(0, cut);
    return this.entries.get(parent)?.children?.has(path.slice(cut + 1)) === true;
  }

  private async refresh(client: KeeperClient, path: string, deep: boolean): Promise<void> {
    if (!this.tracked(path)) return;
    let read: { data: Uint8Array; stat: Stat };
    try {
      read = await client.getData(path, { watch: this.watcher });
    } catch (e) {
      if (!isCode(e, Code.NONODE)) throw e;
      this.remove(path);
      // A missing root is watched for its creation.
      if (path === this.root && (await client.exists(path, { watch: this.watcher })) !== null) this.mark(path, true);
      return;
    }
    if (!this.running || !this.tracked(path)) return;
    this.store(path, read);
    const depth = this.depthOf(path);
    if (depth >= this.maxDepth) return;
    let listed: { children: string[]; stat: Stat };
    try {
      listed = await client.getChildren(path, { watch: this.watcher });
    } catch (e) {
      if (!isCode(e, Code.NONODE)) throw e;
      this.remove(path);
      return;
    }
    const entry = this.entries.get(path);
    if (!this.running || entry === undefined || Number(listed.stat.pzxid) < entry.childrenPzxid) return;
    const now = new Set(listed.children);
    const before = entry.children ?? new Set<string>();
    entry.children = now;
    entry.childrenPzxid = Number(listed.stat.pzxid);
    for (const name of before) if (!now.has(name)) this.remove(joinPath(path, name));
    for (const name of now) if (deep || !before.has(name)) this.mark(joinPath(path, name), deep || !before.has(name));
  }

  private store(path: string, read: { data: Uint8Array; stat: Stat }): void {
    const old = this.entries.get(path);
    if (old !== undefined && Number(read.stat.mzxid) < Number(old.node.stat.mzxid) && old.node.stat.czxid === read.stat.czxid) return;
    const node: CachedNode = { path, data: read.data, stat: read.stat };
    if (old === undefined) {
      this.entries.set(path, { node, children: undefined, childrenPzxid: -1 });
      this.emitter.emit("change", { type: "added", path, node });
    } else if (!sameStat(old.node.stat, read.stat)) {
      old.node = node;
      this.emitter.emit("change", { type: "updated", path, node });
    }
  }

  /** Drops `path` and everything under it, deepest first, and its name from its parent's children. */
  private remove(path: string): void {
    const entry = this.entries.get(path);
    if (entry === undefined) return;
    if (path !== this.root) {
      const cut = path.lastIndexOf("/");
      this.entries.get(cut === 0 ? "/" : path.slice(0, cut))?.children?.delete(path.slice(cut + 1));
    }
    for (const name of entry.children ?? []) this.remove(joinPath(path, name));
    this.entries.delete(path);
    this.emitter.emit("change", { type: "removed", path, node: entry.node });
  }

  private onState(state: ClientState, client: KeeperClient): void {
    if (!this.running) return;
    if (state === "disconnected") this.wasDisconnected = true;
    else if ((state === "connected" || state === "readOnly") && this.wasDisconnected) {
      this.wasDisconnected = false;
      this.mark(this.root, true);
    } else if (state === "expired" && this.handle.renewable) {
      void this.renew(client);
    } else if (state === "expired" || state === "closed") {
      this.running = false;
      this.emitter.emit("error", new RecipeError(state === "expired" ? "SESSION_EXPIRED" : "CLOSED", `tree cache of ${this.root} stopped: ${state === "expired" ? "the session expired (pass a client factory to rebuild)" : "the client was closed"}`));
    }
  }

  private async renew(expired: KeeperClient): Promise<void> {
    await this.handle.renewAndResume(expired, () => this.running, () => this.rebuild(), (e) => this.emitter.emit("error", e));
  }

}
