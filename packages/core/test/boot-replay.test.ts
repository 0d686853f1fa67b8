// A restarted replica applies the committed part of its log before it joins (BootReplay), in
// slices, and leaves the rest for the leader to decide. The replica built from it still holds
// the whole log after the snapshot, for DIFFs, and applies only the uncommitted tail when its
// epoch is established.
import { describe, expect, it } from "vitest";
import { BootReplay, ReplicatedState, ZabReplica, asServerId, type ReplicaBoot, type Txn, type ZabConfig } from "../src/index.ts";
import { Harness } from "./harness.ts";

const cfg: ZabConfig = { self: asServerId(1), voters: [asServerId(1)], dataBytesMax: 1 << 20, tickMs: 100, heartbeatTicks: 1, syncLimitTicks: 5, initLimitTicks: 10, finalizeTicks: 1, electionResendTicks: 5, logWindowTxns: 100 };

/** Ten creates, /n0../n9, as a leader would have logged them. */
function loggedTxns(): Txn[] {
  const h = new Harness();
  for (let i = 0; i < 10; i++) h.create(`/n${i}`, `v${i}`);
  return [...h.log];
}

function bootFrom(log: Txn[]): ReplicaBoot {
  return { state: new ReplicatedState(), log, acceptedEpoch: 1, currentEpoch: 1 };
}

describe("boot replay", () => {
  it("applies exactly the transactions up to the recorded commit point, a slice at a time", () => {
    const log = loggedTxns();
    const boot = bootFrom(log);
    const replay = new BootReplay(boot, log[5]!.hdr.zxid);
    expect(replay.remaining).toBe(6);
    const seen: Txn[] = [];
    expect(replay.step(4, (t) => seen.push(t))).toBe(true);
    expect(replay.step(4, (t) => seen.push(t))).toBe(false);
    expect(seen.map((t) => t.hdr.zxid)).toEqual(log.slice(0, 6).map((t) => t.hdr.zxid));
    expect(boot.state.lastZxid).toBe(log[5]!.hdr.zxid);
    expect(boot.state.tree.node("/n5")).toBeDefined();
    expect(boot.state.tree.node("/n6")).toBeUndefined();
    // The log handed to the replica still starts where the snapshot ended.
    expect(boot.logBase).toBe(0);
    expect(boot.log).toHaveLength(10);
  });

  it("applies nothing without a commit point, or with one at or before the snapshot", () => {
    expect(new BootReplay(bootFrom(loggedTxns()), undefined).remaining).toBe(0);
    const log = loggedTxns();
    const boot = bootFrom(log.slice(3));
    // The state stands for a snapshot taken at log[2].
    for (const t of log.slice(0, 3)) boot.state.apply(t);
    expect(new BootReplay(boot, log[1]!.hdr.zxid).remaining).toBe(0);
    expect(boot.logBase).toBe(log[2]!.hdr.zxid);
  });

  it("a leader established after a replay applies only the uncommitted tail, and keeps the log for DIFFs", () => {
    const log = loggedTxns();
    const boot = bootFrom(log);
    const replay = new BootReplay(boot, log[6]!.hdr.zxid);
    while (replay.step(3));
    const applied: Txn[] = [];
    const r = new ZabReplica(cfg, boot, { applied: (t) => void applied.push(t), stateReset: () => {}, roleChanged: () => {} });
    expect(r.status()).toMatchObject({ committedZxid: log[6]!.hdr.zxid, lastLoggedZxid: log[9]!.hdr.zxid });
    expect(r.log.baseZxid).toBe(0);
    r.start();
    expect(r.status()).toMatchObject({ role: "leading", serving: true, committedZxid: log[9]!.hdr.zxid });
    expect(applied.map((t) => t.hdr.zxid)).toEqual(log.slice(7).map((t) => t.hdr.zxid));
    expect(r.state.tree.node("/n9")).toBeDefined();
  });

  it("the commit point travels with the next persist batch once it moves", () => {
    const r = new ZabReplica(cfg, bootFrom(loggedTxns()), { applied: () => {}, stateReset: () => {}, roleChanged: () => {} });
    r.start();
    const first = r.takePersist();
    expect(first?.committed).toBe(r.state.lastZxid);
    r.persisted(first!.seq, undefined);
    // Nothing new committed: no marker, and no batch only for it.
    expect(r.takePersist()).toBeUndefined();
  });
});
