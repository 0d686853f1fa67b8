// ZooKeeper's double barrier: enter() blocks until `count` participants have entered,
// leave() blocks until all of them have left. Participants are ephemeral nodes named by
// id; the one that sees the count reached creates a "ready" node that releases everyone.

import { Code, CreateMode, KeeperError } from "@keeper/protocol";
import type { KeeperClient } from "../client.ts";
import { RecipeError } from "./errors.ts";
import { deadline, deferred, deleteIfExists, ensurePath, isCode, joinPath, retrying, translate, waitFor, type WaitOptions } from "./internal.ts";

const READY = "ready";

/**
 * ```ts
 * const b = new DoubleBarrier(client, "/jobs/42/barrier", 3);
 * await b.enter({ timeoutMs: 30_000 }); // all 3 start together
 * await compute();
 * await b.leave();                      // and finish together
 * ```
 * Use a fresh path per round: the ready node stays until the last participant left.
 * Connection loss is survived (an interrupted create is recognised by its owner). If the
 * session expires the participant's node is gone: enter()/leave() reject with
 * RecipeError SESSION_EXPIRED, and the others count one participant fewer.
 */
export class DoubleBarrier {
  readonly id: string;
  private entered = false;

  constructor(private readonly client: KeeperClient, readonly path: string, readonly count: number, options: { id?: string } = {}) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    this.id = options.id ?? globalThis.crypto.randomUUID();
    if (this.id === READY || this.id.includes("/")) throw new RangeError(`bad participant id ${this.id}`);
  }

  private get node(): string {
    return joinPath(this.path, this.id);
  }

  /** Joins and waits until `count` participants are in. */
  async enter(options: WaitOptions = {}): Promise<void> {
    if (this.entered) throw new RecipeError("BUSY", `already entered ${this.path}`);
    const limit = deadline(options, `entering double barrier ${this.path}`);
    const client = this.client;
    try {
      await waitFor(client, ensurePath(client, this.path), limit.signal);
      await waitFor(client, this.createNode(), limit.signal);
      for (;;) {
        const ready = deferred();
        const stat = await waitFor(client, retrying(client, () => client.exists(joinPath(this.path, READY), { watch: () => ready.resolve() })), limit.signal);
        if (stat !== null) break;
        const { children } = await waitFor(client, retrying(client, () => client.getChildren(this.path)), limit.signal);
        if (children.filter((c) => c !== READY).length >= this.count) {
          await waitFor(client, this.createReady(), limit.signal);
          break;
        }
        await waitFor(client, ready.promise, limit.signal);
      }
      this.entered = true;
    } catch (e) {
      if (!this.entered) void deleteIfExists(client, this.node).catch(() => undefined);
      throw e;
    } finally {
      limit.dispose();
    }
  }

  /** Leaves and waits until every participant has left. */
  async leave(options: WaitOptions = {}): Promise<void> {
    if (!this.entered) throw new RecipeError("NOT_HELD", `not inside ${this.path}`);
    const limit = deadline(options, `leaving double barrier ${this.path}`);
    const client = this.client;
    try {
      await waitFor(client, deleteIfExists(client, this.node), limit.signal);
      this.entered = false;
      for (;;) {
        const changed = deferred();
        const { children } = await waitFor(client, retrying(client, () => client.getChildren(this.path, { watch: () => changed.resolve() })), limit.signal);
        if (children.every((c) => c === READY)) break;
        await waitFor(client, changed.promise, limit.signal);
      }
      await waitFor(client, deleteIfExists(client, joinPath(this.path, READY)), limit.signal);
    } finally {
      limit.dispose();
    }
  }

  private async createNode(): Promise<void> {
    const client = this.client;
    for (;;) {
      try {
        await client.create(this.node, undefined, { mode: CreateMode.EPHEMERAL });
        return;
      } catch (e) {
        const t = translate(client, e);
        if (isCode(t, Code.CONNECTIONLOSS)) continue;
        if (!isCode(t, Code.NODEEXISTS)) throw t;
        const stat = await retrying(client, () => client.exists(this.node));
        if (stat === null) continue;
        if (Number(stat.ephemeralOwner) === client.sessionId) return;
        throw new KeeperError(Code.NODEEXISTS, `participant id ${this.id} is used by another session`, this.node);
      }
    }
  }

  private createReady(): Promise<void> {
    return retrying(this.client, async () => {
      try {
        await this.client.create(joinPath(this.path, READY));
      } catch (e) {
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      }
    });
  }
}
