// Group membership: each member is an ephemeral node named by its id under the group
// path, carrying the member's data; the live member list is a one-level TreeCache.

import { Code, CreateMode, KeeperError } from "@keeper/protocol";
import type { KeeperClient } from "../client.ts";
import type { ClientState } from "../session.ts";
import { ClientHandle, RecipeEvents, type ClientSource } from "./client-handle.ts";
import { RecipeError } from "./errors.ts";
import { deferred, deleteIfExists, endedError, ensurePath, isCode, joinPath, retrying, translate } from "./internal.ts";
import { TreeCache } from "./tree-cache.ts";

export interface Member {
  id: string;
  data: Uint8Array;
}

export interface GroupMembershipOptions {
  /** The member node's name; default a random id. Must be unique in the group. */
  id?: string;
  data?: Uint8Array | string;
}

export type GroupMembershipEvents = {
  /** The live member list changed; members sorted by id. */
  change: [Member[]];
  /** This member's node is gone with its session; with a client factory it joins again. */
  expired: [];
  error: [Error];
};

/**
 * ```ts
 * const group = new GroupMembership(() => connect(hosts), "/services/api", { id: "api-1", data: "10.0.0.5:80" });
 * group.on("change", (members) => route(members));
 * await group.join();
 * ```
 * The member node is ephemeral: a member that dies leaves the group when its session
 * expires. After CONNECTIONLOSS a create that in fact happened is recognised by the node's
 * ephemeralOwner. After session expiry a group built on a client factory joins again with
 * a new session (waiting for the old node to vanish); on a plain client it emits "error"
 * (RecipeError SESSION_EXPIRED) and stops.
 */
export class GroupMembership extends RecipeEvents<GroupMembershipEvents> {
  readonly id: string;
  private readonly data: Uint8Array | string | undefined;
  private readonly handle: ClientHandle;
  private readonly cache: TreeCache;
  private joined = false;
  private observing = false;
  private lastEmitted = "";
  /** The live list is complete (the cache's first read is done); changes before that are not reported. */
  private ready = false;

  constructor(client: ClientSource, readonly path: string, options: GroupMembershipOptions = {}) {
    super();
    this.id = options.id ?? globalThis.crypto.randomUUID();
    this.data = options.data;
    this.handle = new ClientHandle(client);
    this.cache = new TreeCache(this.handle, path, { maxDepth: 1 });
    this.cache.on("change", () => this.emitChange());
    this.cache.on("error", (e) => this.emitter.emit("error", e));
    this.handle.events.on("state", (state, c) => this.onState(state, c));
  }

  /** The live member list (empty until join() or observe()). */
  get list(): Member[] {
    return (this.cache.children(this.path) ?? []).flatMap((id) => {
      const node = this.cache.get(joinPath(this.path, id));
      return node === undefined ? [] : [{ id, data: node.data }];
    });
  }

  get isJoined(): boolean {
    return this.joined;
  }

  /** Creates this member's node and starts the live list. NODEEXISTS when another live session uses the id. */
  async join(): Promise<void> {
    if (this.joined) throw new RecipeError("BUSY", `already a member of ${this.path}`);
    const client = await this.handle.get();
    await this.createMember(client, false);
    this.joined = true;
    await this.observe();
  }

  /** Starts the live list without joining. */
  async observe(): Promise<Member[]> {
    if (!this.observing) {
      this.observing = true;
      await this.handle.get();
      await this.cache.start();
      this.ready = true;
      this.emitChange();
    }
    return this.list;
  }

  /** A fresh read of the members, from the server. */
  async members(): Promise<Member[]> {
    const client = await this.handle.get();
    const { children } = await retrying(client, () => client.getChildren(this.path));
    const all = await Promise.all(
      children.sort().map(async (id) => {
        try {
          return { id, data: (await retrying(client, () => client.getData(joinPath(this.path, id)))).data };
        } catch (e) {
          if (isCode(e, Code.NONODE)) return undefined; // left meanwhile
          throw e;
        }
      }),
    );
    return all.filter((m): m is Member => m !== undefined);
  }

  /** Deletes this member's node and stops the live list; closes a client made by the factory. */
  async leave(): Promise<void> {
    const client = this.handle.current;
    const wasJoined = this.joined;
    this.joined = false;
    this.observing = false;
    this.ready = false;
    await this.cache.close();
    if (wasJoined && client !== undefined && endedError(client) === undefined) await deleteIfExists(client, joinPath(this.path, this.id));
    await this.handle.close();
  }

  /**
   * Creates the member node. NODEEXISTS owned by this session means an earlier attempt
   * lost its reply; owned by a dead session (after rejoin) it is waited out.
   */
  private async createMember(client: KeeperClient, waitForStale: boolean): Promise<void> {
    await ensurePath(client, this.path);
    const path = joinPath(this.path, this.id);
    for (;;) {
      try {
        await client.create(path, this.data, { mode: CreateMode.EPHEMERAL });
        return;
      } catch (e) {
        const t = translate(client, e);
        if (isCode(t, Code.CONNECTIONLOSS)) continue;
        if (!isCode(t, Code.NODEEXISTS)) throw t;
      }
      const gone = deferred();
      const stat = await retrying(client, () => client.exists(path, { watch: () => gone.resolve() }));
      if (stat === null) continue;
      if (Number(stat.ephemeralOwner) === client.sessionId) return;
      if (!waitForStale) throw new KeeperError(Code.NODEEXISTS, `member id ${this.id} is used by another session`, path);
      await gone.promise;
    }
  }

  private emitChange(): void {
    if (!this.ready) return;
    const list = this.list;
    const key = JSON.stringify(list.map((m) => [m.id, Array.from(m.data)]));
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    this.emitter.emit("change", list);
  }

  private onState(state: ClientState, client: KeeperClient): void {
    if (!this.joined || state !== "expired") return;
    this.emitter.emit("expired");
    if (!this.handle.renewable) {
      this.joined = false;
      return;
    }
    void this.rejoin(client);
  }

  private async rejoin(expired: KeeperClient): Promise<void> {
    await this.handle.renewAndResume(expired, () => this.joined, (client) => this.createMember(client, true), (e) => this.emitter.emit("error", e));
  }

}
