// Exclusive and shared locks, ZooKeeper's recipe: a contender creates an ephemeral-
// sequential node under the lock path and holds the lock when no node before its own
// blocks it. A writer (exclusive) is blocked by any earlier node, a reader (shared) only
// by an earlier writer; each waiter watches just the nearest node that blocks it.

import { CreateMode } from "@keeper/protocol";
import type { KeeperClient } from "../client.ts";
import type { ClientState } from "../session.ts";
import { RecipeEvents } from "./client-handle.ts";
import { RecipeError } from "./errors.ts";
import { abandon, basename, bySequence, createProtected, deadline, deferred, deleteIfExists, endedError, ensurePath, joinPath, namePrefix, retrying, waitFor, type WaitOptions } from "./internal.ts";

export type AcquireOptions = WaitOptions;

export interface LockOptions {
  /** Data of the contender's node, e.g. who holds it, for operators. */
  data?: Uint8Array | string;
  /** "exclusive" (default) or "shared"; shared holders exclude only exclusive ones. */
  mode?: "exclusive" | "shared";
}

export type LockEvents = {
  /** The lock was lost while held: the session expired or the client was closed. */
  lost: [RecipeError];
};

const WRITE_PREFIX = "write-";
const READ_PREFIX = "read-";

/**
 * ```ts
 * const lock = new Lock(client, "/locks/report");
 * lock.on("lost", () => abortWork());
 * await lock.withLock(async (signal) => writeReport(signal), { timeoutMs: 5_000 });
 * ```
 * One Lock object is one contender and is not reentrant. Connection loss while waiting or
 * holding changes nothing (the node lives as long as the session; a create interrupted by
 * connection loss finds its own node by GUID). Session expiry or closing the client while
 * holding emits "lost"; while waiting, acquire() rejects with RecipeError SESSION_EXPIRED.
 */
export class Lock extends RecipeEvents<LockEvents> {
  private readonly prefix: string;
  private readonly data: Uint8Array | string | undefined;
  private node: string | undefined;
  private busy = false;
  private holdController: AbortController | undefined;
  private readonly onState = (state: ClientState): void => {
    if (this.node === undefined || (state !== "expired" && state !== "closed")) return;
    const error = new RecipeError(state === "expired" ? "SESSION_EXPIRED" : "CLOSED", `lock ${this.path} lost: ${state === "expired" ? "the session expired" : "the client was closed"}`);
    this.node = undefined;
    this.client.off("state", this.onState);
    this.holdController?.abort(error);
    this.emitter.emit("lost", error);
  };

  constructor(private readonly client: KeeperClient, readonly path: string, options: LockOptions = {}) {
    super();
    this.prefix = options.mode === "shared" ? READ_PREFIX : WRITE_PREFIX;
    this.data = options.data;
  }

  get isHeld(): boolean {
    return this.node !== undefined;
  }

  /** The contender node while the lock is held. */
  get nodePath(): string | undefined {
    return this.node;
  }

  /**
   * Waits for the lock. Rejects with RecipeError TIMEOUT after `timeoutMs`, with the
   * signal's reason on abort, SESSION_EXPIRED/CLOSED when the session ends, BUSY when this
   * object holds or waits already; a contender that gives up removes its node.
   */
  async acquire(options: AcquireOptions = {}): Promise<void> {
    if (this.busy || this.node !== undefined) throw new RecipeError("BUSY", `lock ${this.path} is already held or being acquired by this object`);
    this.busy = true;
    const limit = deadline(options, `acquiring lock ${this.path}`);
    const client = this.client;
    let created: Promise<string> | undefined;
    let node: string | undefined;
    try {
      await waitFor(client, ensurePath(client, this.path), limit.signal);
      created = createProtected(client, this.path, this.prefix, this.data, CreateMode.EPHEMERAL_SEQUENTIAL);
      node = await waitFor(client, created, limit.signal);
      await this.waitTurn(node, limit.signal);
      if (endedError(client) !== undefined) throw endedError(client);
      this.node = node;
      this.holdController = new AbortController();
      client.on("state", this.onState);
    } catch (e) {
      if (created !== undefined && endedError(client) === undefined) abandon(client, created);
      throw e;
    } finally {
      this.busy = false;
      limit.dispose();
    }
  }

  /** Releases the lock (deletes the node, repeating after connection loss). Throws NOT_HELD when not held. */
  async release(): Promise<void> {
    const node = this.node;
    if (node === undefined) throw new RecipeError("NOT_HELD", `lock ${this.path} is not held`);
    this.node = undefined;
    this.client.off("state", this.onState);
    this.holdController = undefined;
    if (endedError(this.client) === undefined) await deleteIfExists(this.client, node);
  }

  /**
   * Acquires, runs `fn` and releases, also when `fn` throws. `fn` gets a signal that aborts
   * when the lock is lost while it runs.
   */
  async withLock<T>(fn: (signal: AbortSignal) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    await this.acquire(options);
    const signal = this.holdController!.signal;
    try {
      return await fn(signal);
    } finally {
      if (this.node !== undefined) await this.release();
    }
  }

  /** Loops until nothing before `node` blocks it, watching only the nearest blocker. */
  private async waitTurn(node: string, signal: AbortSignal): Promise<void> {
    const client = this.client;
    const mine = basename(node);
    for (;;) {
      signal.throwIfAborted();
      const { children } = await waitFor(client, retrying(client, () => client.getChildren(this.path)), signal);
      const contenders = children.filter((c) => namePrefix(c) === READ_PREFIX || namePrefix(c) === WRITE_PREFIX).sort(bySequence);
      const index = contenders.indexOf(mine);
      if (index < 0) throw endedError(client) ?? new RecipeError("SESSION_EXPIRED", `lock node ${node} vanished while waiting`);
      const blocker = this.nearestBlocker(contenders, index);
      if (blocker === undefined) return;
      const fired = deferred();
      const stat = await waitFor(client, retrying(client, () => client.exists(joinPath(this.path, blocker), { watch: () => fired.resolve() })), signal);
      if (stat !== null) await waitFor(client, fired.promise, signal);
    }
  }

  private nearestBlocker(contenders: string[], index: number): string | undefined {
    if (this.prefix === WRITE_PREFIX) return contenders[index - 1];
    for (let i = index - 1; i >= 0; i--) {
      if (namePrefix(contenders[i]!) === WRITE_PREFIX) return contenders[i];
    }
    return undefined;
  }
}

/**
 * Shared reads, exclusive writes on one path: `rw.readLock` and `rw.writeLock` are Locks
 * (separate contenders) with the same events and failure semantics. A writer waits for
 * every earlier contender; readers share the lock until a writer queues before them.
 */
export class ReadWriteLock {
  readonly readLock: Lock;
  readonly writeLock: Lock;
  constructor(client: KeeperClient, readonly path: string, options: Omit<LockOptions, "mode"> = {}) {
    this.readLock = new Lock(client, path, { ...options, mode: "shared" });
    this.writeLock = new Lock(client, path, { ...options, mode: "exclusive" });
  }
}
