// A barrier: while its node exists, wait() blocks; remove() lets everyone through.

import type { KeeperClient } from "../client.ts";
import { Code } from "@keeper/protocol";
import { deadline, deferred, deleteIfExists, ensurePath, isCode, retrying, waitFor, type WaitOptions } from "./internal.ts";

/**
 * ```ts
 * const gate = new Barrier(client, "/deploy/gate");
 * await gate.set();                       // coordinator closes the gate
 * await gate.wait({ timeoutMs: 60_000 }); // workers block here
 * await gate.remove();                    // coordinator opens it
 * ```
 * The node is persistent, so connection loss and even the waiter's session expiry leave
 * the barrier as it is; wait() keeps waiting across reconnects and rejects with
 * RecipeError SESSION_EXPIRED (the watch is gone with the session) or TIMEOUT.
 */
export class Barrier {
  constructor(private readonly client: KeeperClient, readonly path: string) {}

  /** Raises the barrier; raising a raised barrier is fine. */
  async set(): Promise<void> {
    const cut = this.path.lastIndexOf("/");
    if (cut > 0) await ensurePath(this.client, this.path.slice(0, cut));
    await retrying(this.client, async () => {
      try {
        await this.client.create(this.path);
      } catch (e) {
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      }
    });
  }

  /** Lowers the barrier; lowering a missing barrier is fine. */
  remove(): Promise<void> {
    return deleteIfExists(this.client, this.path);
  }

  /** Resolves once the barrier node does not exist. */
  async wait(options: WaitOptions = {}): Promise<void> {
    const limit = deadline(options, `waiting at barrier ${this.path}`);
    const client = this.client;
    try {
      for (;;) {
        limit.signal.throwIfAborted();
        const gone = deferred();
        const stat = await waitFor(client, retrying(client, () => client.exists(this.path, { watch: () => gone.resolve() })), limit.signal);
        if (stat === null) return;
        await waitFor(client, gone.promise, limit.signal);
      }
    } finally {
      limit.dispose();
    }
  }
}
