// A FIFO queue: producers add persistent-sequential item nodes, consumers take the item
// with the lowest sequence by deleting it (the delete is the claim: of several consumers
// racing for one item exactly one delete succeeds, the others move on to the next item).

import { Code, CreateMode } from "@keeper/protocol";
import type { KeeperClient } from "../client.ts";
import { RecipeError } from "./errors.ts";
import { bySequence, createProtected, deadline, deferred, deleteIfExists, ensurePath, isCode, joinPath, namePrefix, retrying, translate, waitFor, type WaitOptions } from "./internal.ts";

const ITEM_PREFIX = "qn-";
const CLAIM_PREFIX = "_claim_";

export interface QueueItem {
  /** The item node's name; its sequence gives the order. */
  name: string;
  data: Uint8Array;
}

/**
 * ```ts
 * const q = new DistributedQueue(client, "/jobs");
 * await q.offer(JSON.stringify(job));
 * const item = await q.take({ timeoutMs: 10_000 }); // blocks until an item arrives
 * ```
 * Failure semantics: offer() after CONNECTIONLOSS finds its own item by GUID, so an item is
 * added once. take() claims with a multi that deletes the item and creates an ephemeral
 * claim marker; after CONNECTIONLOSS the marker tells whether the claim happened, so an
 * item is delivered to at most one consumer. Once take() returned, the item is gone from
 * the queue: a consumer that crashes while processing loses it (at-most-once); for
 * at-least-once processing see the master-worker example (assignment + status nodes).
 */
export class DistributedQueue {
  constructor(private readonly client: KeeperClient, readonly path: string) {}

  /** Adds an item at the tail; resolves with the item's node name. */
  async offer(data: Uint8Array | string): Promise<string> {
    await ensurePath(this.client, this.path);
    const path = await createProtected(this.client, this.path, ITEM_PREFIX, data, CreateMode.PERSISTENT_SEQUENTIAL);
    return path.slice(path.lastIndexOf("/") + 1);
  }

  /** The head item without removing it, or null when the queue is empty. */
  async peek(): Promise<QueueItem | null> {
    for (;;) {
      const items = await this.items();
      if (items.length === 0) return null;
      try {
        const { data } = await retrying(this.client, () => this.client.getData(joinPath(this.path, items[0]!)));
        return { name: items[0]!, data };
      } catch (e) {
        if (!isCode(e, Code.NONODE)) throw e; // taken meanwhile: look again
      }
    }
  }

  /**
   * Removes and returns the head item, waiting up to `timeoutMs` (default 0: no wait)
   * for one to arrive; null when none came.
   */
  async poll(options: WaitOptions = {}): Promise<QueueItem | null> {
    try {
      return await this.take({ ...options, timeoutMs: options.timeoutMs ?? 0 });
    } catch (e) {
      if (e instanceof RecipeError && e.code === "TIMEOUT") return null;
      throw e;
    }
  }

  /** Removes and returns the head item, waiting for one; RecipeError TIMEOUT after `timeoutMs`. */
  async take(options: WaitOptions = {}): Promise<QueueItem> {
    // timeoutMs 0 means one look without waiting, not a timer that races the reads.
    const limit = deadline(options.timeoutMs === 0 ? { ...(options.signal ? { signal: options.signal } : {}) } : options, `taking from queue ${this.path}`);
    const client = this.client;
    try {
      await waitFor(client, ensurePath(client, this.path), limit.signal);
      for (;;) {
        const changed = deferred();
        const items = await waitFor(client, this.items(() => changed.resolve()), limit.signal);
        for (const name of items) {
          const item = await waitFor(client, this.claim(name), limit.signal);
          if (item !== null) return item;
        }
        if (items.length === 0) {
          // A zero timeout means "do not wait": poll() turns this into null.
          if (options.timeoutMs === 0) throw new RecipeError("TIMEOUT", `queue ${this.path} is empty`);
          await waitFor(client, changed.promise, limit.signal);
        }
      }
    } finally {
      limit.dispose();
    }
  }

  /** Item names in FIFO order; `watch` fires on the next change of the list. */
  private async items(watch?: () => void): Promise<string[]> {
    let children: string[];
    try {
      ({ children } = await retrying(this.client, () => this.client.getChildren(this.path, watch === undefined ? {} : { watch })));
    } catch (e) {
      if (isCode(e, Code.NONODE)) return []; // nothing offered yet
      throw e;
    }
    return children.filter((c) => namePrefix(c) === ITEM_PREFIX).sort(bySequence);
  }

  /** Claims one item: its data, or null when another consumer took it first. */
  private async claim(name: string): Promise<QueueItem | null> {
    const client = this.client;
    const path = joinPath(this.path, name);
    let data: Uint8Array;
    try {
      data = (await retrying(client, () => client.getData(path))).data;
    } catch (e) {
      if (isCode(e, Code.NONODE)) return null;
      throw e;
    }
    const marker = joinPath(this.path, `${CLAIM_PREFIX}${globalThis.crypto.randomUUID()}`);
    for (;;) {
      try {
        await client.transaction().delete(path).create(marker, undefined, { mode: CreateMode.EPHEMERAL }).commit();
        break;
      } catch (e) {
        const t = translate(client, e);
        if (isCode(t, Code.NONODE)) return null; // another consumer won the race
        if (!isCode(t, Code.CONNECTIONLOSS)) throw t;
        // Did the multi happen? Its marker says so.
        if ((await retrying(client, () => client.exists(marker))) !== null) break;
      }
    }
    await deleteIfExists(client, marker);
    return { name, data };
  }
}
