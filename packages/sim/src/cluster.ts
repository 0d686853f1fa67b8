// A whole ensemble of real replicas (the same ZabReplica the server runs) on simulated time,
// network and disks, with seeded faults: link breaks, partitions, crashes that lose what was
// not yet durable, restarts, and clients issuing writes through any node.
import { ZabReplica, asServerId, type ForwardedRequest, type PersistBatch, type ServerId, type Txn, type ZabConfig } from "@keeper/core";
import { CreateMode, OPEN_ACL_UNSAFE, type SessionId, type Zxid } from "@keeper/protocol";
import { HistoryChecker, InvariantViolation } from "./checker.ts";
import { SimDisk } from "./disk.ts";
import { SimNetwork } from "./network.ts";
import { Random } from "./random.ts";

export interface SimOptions {
  nodes: 3 | 5;
  seed: number;
  /** Simulated milliseconds to run. */
  durationMs: number;
  tickMs: number;
  latencyMs: [number, number];
  fsyncMs: [number, number];
  /** Per simulated millisecond, the chance of each fault starting. */
  faultRate: number;
  /** Snapshot a node's disk after this many applies (exercises SNAP sync). */
  snapshotEvery: number;
  logWindowTxns: number;
  clients: number;
  /** Test-only protocol bug injected into every replica (to prove the checkers catch bugs). */
  testFault?: "commitWithoutQuorum";
}

export const defaultSimOptions: Omit<SimOptions, "seed"> = {
  nodes: 3,
  durationMs: 20_000,
  tickMs: 50,
  latencyMs: [1, 15],
  fsyncMs: [1, 8],
  faultRate: 0.002,
  snapshotEvery: 40,
  logWindowTxns: 20,
  clients: 3,
};

interface SimNode {
  id: ServerId;
  disk: SimDisk;
  replica: ZabReplica | undefined;
  inFlight: { batch: PersistBatch; at: number } | undefined;
  appliedSinceSnapshot: number;
  nextTickAt: number;
}

interface SimClient {
  id: number;
  node: ServerId | undefined;
  session: SessionId | undefined;
  token: number;
  pending: Map<number, string>;
  nextCxid: number;
  nextOpAt: number;
}

export class SimCluster {
  readonly rng: Random;
  readonly net: SimNetwork;
  readonly check = new HistoryChecker();
  readonly nodes = new Map<ServerId, SimNode>();
  readonly clients: SimClient[] = [];
  now = 0;
  readonly events: string[] = [];
  private readonly healAt = new Map<string, number>();
  private readonly restartAt = new Map<ServerId, number>();
  stats = { crashes: 0, partitions: 0, breaks: 0, acked: 0 };

  constructor(readonly opts: SimOptions) {
    this.rng = new Random(opts.seed);
    this.net = new SimNetwork(this.rng, opts.latencyMs);
    for (let i = 1; i <= opts.nodes; i++) {
      const id = asServerId(i);
      this.nodes.set(id, { id, disk: new SimDisk(), replica: undefined, inFlight: undefined, appliedSinceSnapshot: 0, nextTickAt: this.rng.int(opts.tickMs) });
    }
    for (const n of this.nodes.values()) this.boot(n);
    for (let c = 0; c < opts.clients; c++) this.clients.push({ id: c, node: undefined, session: undefined, token: 0, pending: new Map(), nextCxid: 1, nextOpAt: 200 + this.rng.int(500) });
  }

  private config(id: ServerId): ZabConfig {
    return {
      self: id,
      voters: [...this.nodes.keys()],
      tickMs: this.opts.tickMs,
      dataBytesMax: 1024 * 1024,
      heartbeatTicks: 1,
      syncLimitTicks: 5,
      initLimitTicks: 10,
      finalizeTicks: 1,
      electionResendTicks: 4,
      logWindowTxns: this.opts.logWindowTxns,
      ...(this.opts.testFault ? { testFault: this.opts.testFault } : {}),
    };
  }

  private log(line: string): void {
    this.events.push(`${String(this.now).padStart(6)} ${line}`);
    if (this.events.length > 400) this.events.shift();
  }

  private boot(n: SimNode): void {
    const boot = n.disk.boot();
    const replica: ZabReplica = new ZabReplica(this.config(n.id), boot, {
      applied: (txn, outcome) => {
        void outcome;
        this.onApplied(n, replica, txn);
      },
      stateReset: (state) => this.prevApplied.set(n.id, state.lastZxid),
      roleChanged: (s) => {
        this.log(`node ${n.id} ${s.role}${s.serving ? " serving" : ""} epoch ${s.currentEpoch} leader ${s.leader ?? "-"}`);
        if (s.role === "leading" && s.serving) this.check.leading(n.id, s.currentEpoch);
        if (!s.serving) this.dropClientsOf(n.id);
      },
    });
    n.replica = replica;
    n.nextTickAt = this.now + 1 + this.rng.int(this.opts.tickMs);
    this.prevApplied.set(n.id, boot.state.lastZxid);
    replica.now = this.now;
    replica.start();
    for (const other of this.nodes.values()) {
      if (other === n || !other.replica || !this.net.linkUp(n.id, other.id)) continue;
      replica.peerUp(other.id);
      other.replica.peerUp(n.id);
    }
    this.drainAll();
  }

  private onApplied(n: SimNode, replica: ZabReplica, txn: Txn): void {
    const prev = this.prevApplied.get(n.id) ?? (0 as Zxid);
    this.check.applied(n.id, prev, txn, replica.state.tree.digest());
    this.prevApplied.set(n.id, txn.hdr.zxid);
    n.appliedSinceSnapshot++;
    // Answer a client whose request this node took.
    for (const c of this.clients) {
      if (c.node !== n.id) continue;
      if (txn.body.type === "createSession" && txn.hdr.cxid === c.token && c.session === undefined) {
        c.session = txn.hdr.sessionId;
        this.check.acknowledged(txn.hdr.zxid, `session of client ${c.id}`);
      } else if (txn.hdr.sessionId === c.session && c.pending.has(txn.hdr.cxid)) {
        this.check.acknowledged(txn.hdr.zxid, `client ${c.id} ${c.pending.get(txn.hdr.cxid)}`);
        c.pending.delete(txn.hdr.cxid);
        this.stats.acked++;
      }
    }
  }

  private readonly prevApplied = new Map<ServerId, Zxid>();

  private dropClientsOf(id: ServerId): void {
    for (const c of this.clients) if (c.node === id) {
      c.node = undefined;
      c.pending.clear();
      if (c.session === undefined) c.token = 0;
    }
  }

  /** Carries out every node's outputs: start persists, send messages. */
  private drainAll(): void {
    for (const n of this.nodes.values()) this.drain(n);
  }

  private drain(n: SimNode): void {
    const r = n.replica;
    if (!r) return;
    if (!n.inFlight) {
      const batch = r.takePersist();
      if (batch) n.inFlight = { batch, at: this.now + this.rng.range(this.opts.fsyncMs[0], this.opts.fsyncMs[1]) };
    }
    for (const { to, msg } of r.takeMessages()) this.net.send(this.now, n.id, to, msg);
  }

  // ---- faults --------------------------------------------------------------------------

  private crash(n: SimNode): void {
    this.log(`crash node ${n.id}`);
    this.stats.crashes++;
    n.replica = undefined;
    n.inFlight = undefined; // not durable: lost
    this.prevApplied.delete(n.id);
    this.dropClientsOf(n.id);
    for (const other of this.nodes.values()) {
      if (other === n) continue;
      this.net.breakLink(n.id, other.id);
      other.replica?.peerDown(n.id);
    }
    this.restartAt.set(n.id, this.now + this.rng.range(100, 3000));
  }

  private partition(): void {
    const ids = [...this.nodes.keys()];
    const a = this.rng.pick(ids);
    const b = this.rng.pick(ids.filter((x) => x !== a));
    const oneWay = this.rng.chance(0.3);
    this.log(`partition ${a}${oneWay ? "->" : "<->"}${b}`);
    this.stats.partitions++;
    this.net.cut.add(`${a}>${b}`);
    if (!oneWay) this.net.cut.add(`${b}>${a}`);
    this.disconnect(a, b);
    this.healAt.set(`${a}>${b}`, this.now + this.rng.range(200, 4000));
    if (!oneWay) this.healAt.set(`${b}>${a}`, this.healAt.get(`${a}>${b}`)!);
  }

  private disconnect(a: ServerId, b: ServerId): void {
    this.net.breakLink(a, b);
    this.nodes.get(a)!.replica?.peerDown(b);
    this.nodes.get(b)!.replica?.peerDown(a);
  }

  private reconnect(a: ServerId, b: ServerId): void {
    const na = this.nodes.get(a)!;
    const nb = this.nodes.get(b)!;
    if (!na.replica || !nb.replica || !this.net.linkUp(a, b)) return;
    na.replica.peerUp(b);
    nb.replica.peerUp(a);
  }

  private injectFaults(): void {
    if (this.rng.chance(this.opts.faultRate)) {
      const n = this.rng.pick([...this.nodes.values()].filter((x) => x.replica));
      if (n && [...this.nodes.values()].filter((x) => x.replica).length > 1) this.crash(n);
    }
    if (this.rng.chance(this.opts.faultRate)) this.partition();
    if (this.rng.chance(this.opts.faultRate)) {
      const ids = [...this.nodes.keys()];
      const a = this.rng.pick(ids);
      const b = this.rng.pick(ids.filter((x) => x !== a));
      this.log(`break link ${a}-${b}`);
      this.stats.breaks++;
      this.disconnect(a, b);
      this.reconnect(a, b);
    }
  }

  private healAndRestart(): void {
    for (const [k, at] of this.healAt) {
      if (at > this.now) continue;
      this.healAt.delete(k);
      this.net.cut.delete(k);
      const [a, b] = k.split(">").map((x) => asServerId(Number(x))) as [ServerId, ServerId];
      this.log(`heal ${a}>${b}`);
      this.reconnect(a, b);
    }
    for (const [id, at] of this.restartAt) {
      if (at > this.now) continue;
      this.restartAt.delete(id);
      this.log(`restart node ${id}`);
      this.boot(this.nodes.get(id)!);
    }
  }

  // ---- clients -------------------------------------------------------------------------

  /** After the fault schedule, clients stop issuing so the ensemble can settle. */
  private quiescing = false;

  private clientStep(c: SimClient): void {
    if (this.quiescing || c.nextOpAt > this.now) return;
    c.nextOpAt = this.now + this.rng.range(5, 60);
    if (c.node === undefined) {
      const serving = [...this.nodes.values()].filter((n) => n.replica?.status().serving);
      if (serving.length === 0) return;
      c.node = this.rng.pick(serving).id;
    }
    const r = this.nodes.get(c.node)!.replica!;
    if (c.session === undefined) {
      if (c.token !== 0) return;
      c.token = c.id + 1 + this.rng.int(1000) * 16;
      r.now = this.now;
      if (!r.submit({ type: "createSession", token: c.token, timeoutMs: 60_000, password: new Uint8Array(4) })) c.token = 0;
      return;
    }
    if (c.pending.size > 3) return;
    const cxid = c.nextCxid++;
    const req = this.randomWrite(c);
    r.now = this.now;
    if (r.submit({ type: "write", sessionId: c.session, cxid, request: req } as ForwardedRequest)) c.pending.set(cxid, `${req.type} ${"path" in req ? req.path : ""}`);
  }

  private randomWrite(c: SimClient) {
    const path = `/k${this.rng.int(6)}`;
    const data = new TextEncoder().encode(`c${c.id}-${this.now}`);
    switch (this.rng.int(4)) {
      case 0:
        return { type: "create" as const, path, data, acl: [...OPEN_ACL_UNSAFE], mode: this.rng.chance(0.3) ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT, ttlMs: 0 };
      case 1:
        return { type: "delete" as const, path, version: this.rng.chance(0.5) ? -1 : this.rng.int(3) };
      case 2:
        return { type: "create" as const, path: `${path}-`, data, acl: [...OPEN_ACL_UNSAFE], mode: CreateMode.PERSISTENT_SEQUENTIAL, ttlMs: 0 };
      default:
        return { type: "setData" as const, path, data, version: this.rng.chance(0.5) ? -1 : this.rng.int(3) };
    }
  }

  // ---- the loop ------------------------------------------------------------------------

  /** Advances simulated time by 1 ms, running everything due. */
  step(): void {
    this.now++;
    this.injectFaults();
    this.healAndRestart();
    for (const m of this.net.due(this.now)) {
      const r = this.nodes.get(m.to)?.replica;
      if (!r) continue;
      r.now = this.now;
      r.receive(m.from, m.msg);
      this.drain(this.nodes.get(m.to)!);
    }
    for (const n of this.nodes.values()) {
      const r = n.replica;
      if (!r) continue;
      r.now = this.now;
      if (n.inFlight && n.inFlight.at <= this.now) {
        const b = n.inFlight.batch;
        n.disk.write(b);
        n.inFlight = undefined;
        r.persisted(b.seq, b.append.length > 0 ? b.append[b.append.length - 1]!.hdr.zxid : undefined);
      }
      if (n.nextTickAt <= this.now) {
        n.nextTickAt += this.opts.tickMs;
        r.tick();
      }
      if (n.appliedSinceSnapshot >= this.opts.snapshotEvery && !n.inFlight) {
        n.disk.compact(r.state, 5);
        n.appliedSinceSnapshot = 0;
      }
      this.drain(n);
    }
    for (const c of this.clients) this.clientStep(c);
    this.drainAll();
  }

  /** Runs the schedule, then heals everything and checks the ensemble converges. */
  run(): void {
    try {
      while (this.now < this.opts.durationMs) this.step();
      this.healEverything();
      this.quiescing = true;
      const settleUntil = this.now + 15_000;
      while (this.now < settleUntil && !this.converged()) this.step();
      if (!this.converged()) throw new InvariantViolation(`did not converge after healing: ${this.describe()}`);
      this.check.checkAcknowledged();
    } catch (e) {
      if (e instanceof Error) e.message += `\nseed ${this.opts.seed}; last events:\n${this.events.slice(-40).join("\n")}`;
      throw e;
    }
  }

  private healEverything(): void {
    this.opts.faultRate = 0;
    for (const k of [...this.healAt.keys()]) this.healAt.set(k, this.now);
    for (const k of [...this.restartAt.keys()]) this.restartAt.set(k, this.now);
    this.healAndRestart();
  }

  converged(): boolean {
    const rs = [...this.nodes.values()].map((n) => n.replica);
    if (rs.some((r) => !r || !r.status().serving)) return false;
    const zx = new Set(rs.map((r) => r!.state.lastZxid));
    const dg = new Set(rs.map((r) => r!.state.tree.digest()));
    return zx.size === 1 && dg.size === 1 && this.clients.every((c) => c.pending.size === 0);
  }

  describe(): string {
    return [...this.nodes.values()].map((n) => {
      const s = n.replica?.status();
      return s ? `${n.id}:${s.role}${s.serving ? "*" : ""} e${s.currentEpoch} log ${s.lastLoggedZxid.toString(16)} commit ${s.committedZxid.toString(16)}` : `${n.id}:down`;
    }).join(", ");
  }
}
