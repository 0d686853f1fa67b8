// Which client a long-lived recipe uses. A client whose session expired cannot be used
// again (its ephemerals are gone and every call fails), so a recipe that should survive
// expiry (leader election, group membership, caches) takes a factory and asks it for a
// fresh client; given a plain client it reports the expiry and stops instead.

import type { KeeperClient } from "../client.ts";
import { Emitter } from "../emitter.ts";
import type { ClientState } from "../session.ts";

/** Makes a new connected client, e.g. `() => connect("127.0.0.1:8181")`. */
export type ClientFactory = () => Promise<KeeperClient>;

/**
 * A client the application owns (recipes never close it), or a factory whose clients the
 * recipe owns: it calls it on start and again after each session expiry, and closes
 * what it made when it stops.
 */
export type ClientSource = KeeperClient | ClientFactory;

/** Shares one current client between the parts of a recipe and moves them all to a new one after expiry. */
export class ClientHandle {
  readonly events = new Emitter<{ state: [ClientState, KeeperClient]; renewed: [KeeperClient] }>();
  private client: KeeperClient | undefined;
  private pending: Promise<KeeperClient> | undefined;
  private closed = false;
  private readonly onState = (state: ClientState): void => {
    if (this.client !== undefined) this.events.emit("state", state, this.client);
  };

  constructor(private readonly source: ClientSource) {
    if (typeof source !== "function") this.adopt(source);
  }

  /** True when a factory can replace an expired client. */
  get renewable(): boolean {
    return typeof this.source === "function";
  }

  get current(): KeeperClient | undefined {
    return this.client;
  }

  /** The current client, made by the factory on first use. */
  get(): Promise<KeeperClient> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    return this.make();
  }

  /**
   * Replaces `expired` with a fresh client from the factory (closing the old one); several
   * parts asking about the same expired client share one new client.
   */
  renew(expired: KeeperClient): Promise<KeeperClient> {
    if (this.client !== expired && this.client !== undefined) return Promise.resolve(this.client);
    if (this.client === expired) {
      this.client.off("state", this.onState);
      this.client = undefined;
      void expired.close();
    }
    return this.make().then((c) => {
      this.events.emit("renewed", c);
      return c;
    });
  }

  /**
   * Renews `expired` and runs `resume` with the new client, retrying with a growing pause
   * (100 ms up to 5 s) while `wanted()` holds; failures on the way go to `onError`.
   */
  async renewAndResume(expired: KeeperClient, wanted: () => boolean, resume: (client: KeeperClient) => Promise<void>, onError: (e: Error) => void): Promise<void> {
    let pauseMs = 100;
    while (wanted()) {
      try {
        const client = await this.renew(expired);
        if (wanted()) await resume(client);
        return;
      } catch (e) {
        if (!wanted()) return;
        onError(e instanceof Error ? e : new Error(String(e)));
        await new Promise((r) => setTimeout(r, pauseMs));
        pauseMs = Math.min(pauseMs * 2, 5_000);
      }
    }
  }

  /** Stops following the client and closes it when the factory made it. */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    c?.off("state", this.onState);
    if (c !== undefined && this.renewable) await c.close();
    const p = this.pending;
    if (p !== undefined) await p.then((late) => late.close()).catch(() => undefined);
  }

  private make(): Promise<KeeperClient> {
    if (typeof this.source !== "function") return Promise.reject(new Error("a plain client cannot be renewed"));
    const factory = this.source;
    this.pending ??= factory().then(
      (c) => {
        this.pending = undefined;
        if (this.closed) {
          void c.close();
          throw new Error("the recipe was stopped");
        }
        this.adopt(c);
        return c;
      },
      (e: unknown) => {
        this.pending = undefined;
        throw e;
      },
    );
    return this.pending;
  }

  private adopt(c: KeeperClient): void {
    this.client = c;
    c.on("state", this.onState);
  }
}

/** on/off for a recipe's typed events; emit stays inside the recipe. */
export class RecipeEvents<E extends Record<string, unknown[]>> {
  protected readonly emitter = new Emitter<E>();

  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    this.emitter.on(event, fn);
    return this;
  }

  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    this.emitter.off(event, fn);
    return this;
  }

  once<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    const wrapped = (...args: E[K]): void => {
      this.emitter.off(event, wrapped);
      fn(...args);
    };
    this.emitter.on(event, wrapped);
    return this;
  }
}
