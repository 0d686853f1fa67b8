// Leader election, ZooKeeper's recipe: every candidate creates an ephemeral-sequential node
// under the election path; the lowest sequence leads; every other candidate watches only
// the node just before its own (no herd effect: one deletion wakes one candidate).

import { Code, CreateMode } from "@keeper/protocol";
import type { KeeperClient } from "../client.ts";
import type { ClientState } from "../session.ts";
import { ClientHandle, RecipeEvents, type ClientSource } from "./client-handle.ts";
import { RecipeError } from "./errors.ts";
import { basename, bySequence, createProtected, deleteIfExists, endedError, ensurePath, isCode, joinPath, namePrefix, retrying, SerialRunner, translate } from "./internal.ts";

export interface LeaderElectionOptions {
  /** Written into the candidate node so others can tell who leads; default a random id. */
  id?: string;
  /** Candidate node data; default the id. */
  data?: Uint8Array | string;
  /**
   * After the session expired, join again with a new client from the factory. Default
   * true; has no effect with a plain client, which cannot outlive its session.
   */
  rejoinOnExpiry?: boolean;
}

/** Why a candidate is not (or no longer) the leader. */
export type FollowerReason = "candidate" | "sessionExpired" | "clientClosed" | "stopped";

export interface FollowerInfo {
  reason: FollowerReason;
  /** The node this candidate waits for, when it waits for one. */
  predecessor?: string;
}

export type LeaderElectionEvents = {
  /** This candidate leads from now on. */
  leader: [];
  /** This candidate does not lead: after joining behind others, or on losing leadership. */
  follower: [FollowerInfo];
  /** Something the election could not handle; it keeps going unless the event says it stopped. */
  error: [Error];
};

const CANDIDATE_PREFIX = "n_";

/**
 * ```ts
 * const e = new LeaderElection(() => connect(hosts), "/election", { id: "node-a" });
 * e.on("leader", () => startServing()).on("follower", () => stopServing());
 * await e.start();
 * ```
 * Connection loss alone changes nothing: the candidate node lives as long as the session,
 * so a disconnected leader stays leader until the session expires; the client says
 * "disconnected" through `on("state")` for applications that must pause meanwhile.
 * Session expiry ends leadership ("follower" with reason "sessionExpired"); with a client
 * factory the election then joins again as a new candidate, with a plain client it emits
 * "error" (RecipeError SESSION_EXPIRED) and stops.
 */
export class LeaderElection extends RecipeEvents<LeaderElectionEvents> {
  readonly id: string;
  private readonly handle: ClientHandle;
  private readonly data: Uint8Array | string;
  private readonly rejoinOnExpiry: boolean;
  private readonly runner: SerialRunner;
  private role: "none" | "leader" | "follower" = "none";
  private running = false;
  /** Bumped on every join and stop, so that work of an older candidacy ends quietly. */
  private generation = 0;
  private node: string | undefined;
  private client: KeeperClient | undefined;

  constructor(client: ClientSource, readonly path: string, options: LeaderElectionOptions = {}) {
    super();
    this.handle = new ClientHandle(client);
    this.id = options.id ?? globalThis.crypto.randomUUID();
    this.data = options.data ?? this.id;
    this.rejoinOnExpiry = options.rejoinOnExpiry ?? true;
    this.runner = new SerialRunner(() => this.check(), (e) => this.emitter.emit("error", e instanceof Error ? e : new Error(String(e))));
    this.handle.events.on("state", (state, c) => this.onState(state, c));
  }

  get isLeader(): boolean {
    return this.role === "leader";
  }

  /** This candidate's node, while it has one. */
  get candidatePath(): string | undefined {
    return this.node;
  }

  /** Joins the election; resolves once this candidate knows whether it leads ("leader" or "follower" emitted). */
  async start(): Promise<void> {
    if (this.running) throw new RecipeError("BUSY", "the election is already started");
    this.running = true;
    try {
      await this.join();
    } catch (e) {
      this.running = false;
      throw e;
    }
  }

  /** Leaves the election: deletes the candidate node (a leader steps down) and closes a client it made. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    const node = this.node;
    const client = this.client;
    this.node = undefined;
    if (node !== undefined && client !== undefined && endedError(client) === undefined) {
      await deleteIfExists(client, node).catch(() => undefined);
    }
    this.setFollower({ reason: "stopped" });
    this.role = "none";
    await this.handle.close();
  }

  /** The data of the current leader's candidate node, or undefined when nobody leads. */
  async leaderData(): Promise<Uint8Array | undefined> {
    const client = await this.handle.get();
    for (;;) {
      const candidates = await this.candidates(client);
      const first = candidates[0];
      if (first === undefined) return undefined;
      try {
        return (await retrying(client, () => client.getData(joinPath(this.path, first)))).data;
      } catch (e) {
        if (!isCode(e, Code.NONODE)) throw e; // the leader just left; look again
      }
    }
  }

  private async join(): Promise<void> {
    const generation = ++this.generation;
    const client = await this.handle.get();
    this.client = client;
    await ensurePath(client, this.path);
    const node = await createProtected(client, this.path, CANDIDATE_PREFIX, this.data, CreateMode.EPHEMERAL_SEQUENTIAL);
    if (generation !== this.generation) {
      await deleteIfExists(client, node).catch(() => undefined);
      return;
    }
    this.node = node;
    await this.runner.trigger();
  }

  private async candidates(client: KeeperClient): Promise<string[]> {
    const { children } = await retrying(client, () => client.getChildren(this.path));
    return children.filter((c) => namePrefix(c) === CANDIDATE_PREFIX).sort(bySequence);
  }

  /** One look at the candidates: lead when first, else watch the predecessor. */
  private async check(): Promise<void> {
    const generation = this.generation;
    const client = this.client;
    for (;;) {
      if (!this.running || generation !== this.generation || client === undefined || this.node === undefined) return;
      try {
        const candidates = await this.candidates(client);
        if (generation !== this.generation) return;
        const mine = candidates.indexOf(basename(this.node));
        if (mine < 0) {
          // Our node is gone while the session lives (deleted by hand): stand again.
          this.setFollower({ reason: "candidate" });
          this.node = await createProtected(client, this.path, CANDIDATE_PREFIX, this.data, CreateMode.EPHEMERAL_SEQUENTIAL);
          continue;
        }
        if (mine === 0) return this.setLeader();
        const predecessor = joinPath(this.path, candidates[mine - 1]!);
        this.setFollower({ reason: "candidate", predecessor });
        const watch = (): void => {
          if (generation === this.generation) void this.runner.trigger();
        };
        const stat = await retrying(client, () => client.exists(predecessor, { watch }));
        if (stat !== null) return; // the watch calls the next check
      } catch (e) {
        const t = translate(client, e);
        if (endedError(client) !== undefined) return; // onState handles the end of the session
        throw t;
      }
    }
  }

  private setLeader(): void {
    if (this.role === "leader") return;
    this.role = "leader";
    this.emitter.emit("leader");
  }

  private setFollower(info: FollowerInfo): void {
    if (info.reason === "candidate") {
      if (this.role === "follower") return;
    } else if (this.role !== "leader") {
      // Losing a candidacy that did not lead changes nothing the application acts on.
      this.role = "follower";
      return;
    }
    this.role = "follower";
    this.emitter.emit("follower", info);
  }

  private onState(state: ClientState, client: KeeperClient): void {
    if (!this.running || client !== this.client) return;
    if (state !== "expired" && state !== "closed") return;
    this.generation++;
    this.node = undefined;
    this.client = undefined;
    const expired = state === "expired";
    this.setFollower({ reason: expired ? "sessionExpired" : "clientClosed" });
    if (expired && this.rejoinOnExpiry && this.handle.renewable) {
      void this.rejoin(client);
      return;
    }
    this.running = false;
    this.role = "none";
    const why = expired ? "the session expired" : "the client was closed";
    this.emitter.emit("error", new RecipeError(expired ? "SESSION_EXPIRED" : "CLOSED", `${why}; the election stopped (pass a client factory to rejoin after expiry)`));
  }

  /** Asks the factory for a new client until it gives one or the election is stopped. */
  private async rejoin(expired: KeeperClient): Promise<void> {
    await this.handle.renewAndResume(expired, () => this.running, () => this.join(), (e) => this.emitter.emit("error", e));
  }

}
