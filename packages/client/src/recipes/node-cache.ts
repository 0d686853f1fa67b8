// A local copy of one znode kept current by watches (Curator's NodeCache): a TreeCache
// that follows no children, with a simpler surface.

import type { ClientHandle, ClientSource } from "./client-handle.ts";
import { RecipeEvents } from "./client-handle.ts";
import { TreeCache, type CachedNode } from "./tree-cache.ts";

export type NodeCacheEvents = {
  /** The node was created, changed or deleted (then null). */
  change: [CachedNode | null];
  error: [Error];
};

/**
 * ```ts
 * const flags = new NodeCache(client, "/config/flags");
 * flags.on("change", (node) => apply(node?.data));
 * await flags.start();
 * ```
 * Same failure semantics as TreeCache: re-read after reconnect; rebuilt after session
 * expiry with a client factory, "error" and stop with a plain client.
 */
export class NodeCache extends RecipeEvents<NodeCacheEvents> {
  private readonly tree: TreeCache;

  constructor(client: ClientSource | ClientHandle, readonly path: string) {
    super();
    this.tree = new TreeCache(client, path, { maxDepth: 0 });
    this.tree.on("change", (c) => this.emitter.emit("change", c.type === "removed" ? null : c.node));
    this.tree.on("error", (e) => this.emitter.emit("error", e));
  }

  /** Reads the node (which may not exist yet) and starts watching it. */
  start(): Promise<void> {
    return this.tree.start();
  }

  close(): Promise<void> {
    return this.tree.close();
  }

  /** The node's data and Stat, or null while it does not exist. */
  get current(): CachedNode | null {
    return this.tree.get(this.path) ?? null;
  }
}
