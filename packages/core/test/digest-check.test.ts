// The run-time divergence check: the leader's digest at a zxid travels with each commit, and a
// follower whose own digest at that zxid differs stops serving and tells the shell, which must
// rebuild its state from the leader. Three replicas wired by hand, no I/O.
import { describe, expect, it } from "vitest";
import { OPEN_ACL_UNSAFE, asSessionId, makeZxid, type Zxid } from "@keeper/protocol";
import { ReplicatedState, ZabReplica, asServerId, type ServerId, type Txn, type ZabConfig } from "../src/index.ts";

const ids = [1, 2, 3].map(asServerId) as [ServerId, ServerId, ServerId];
const enc = new TextEncoder();
const create = (data: string): Txn => ({ hdr: { zxid: makeZxid(1, 1), time: 5, sessionId: asSessionId(0), cxid: 1 }, body: { type: "create", path: "/x", data: enc.encode(data), acl: [...OPEN_ACL_UNSAFE], ephemeralOwner: asSessionId(0) } });

/** Replicas booted with `logs[i]` (all at epoch 1), delivering messages and persisting at once. */
function ensemble(logs: Txn[][]) {
  const diverged: Array<{ id: ServerId; zxid: Zxid; mine: string; leaders: string; servingThen: boolean; role: string }> = [];
  const rs = ids.map((self, i) => {
    const cfg: ZabConfig = { self, voters: ids, dataBytesMax: 1 << 20, tickMs: 100, heartbeatTicks: 1, syncLimitTicks: 5, initLimitTicks: 20, finalizeTicks: 1, electionResendTicks: 5, logWindowTxns: 100 };
    return new ZabReplica(cfg, { state: new ReplicatedState(), log: logs[i]!, acceptedEpoch: 1, currentEpoch: 1 }, {
      applied: () => {},
      stateReset: () => {},
      roleChanged: () => {},
      diverged: (zxid, mine, leaders) => diverged.push({ id: self, zxid, mine, leaders, servingThen: rs[i]!.status().serving, role: rs[i]!.status().role }),
    });
  });
  const settle = (ticks = 0) => {
    for (let round = 0; round < 200; round++) {
      let moved = false;
      for (const r of rs) for (let b = r.takePersist(); b; b = r.takePersist()) r.persisted(b.seq, b.append.at(-1)?.hdr.zxid);
      for (const [i, r] of rs.entries()) {
        for (const { to, msg } of r.takeMessages()) {
          moved = true;
          rs[ids.indexOf(to)]!.receive(ids[i]!, msg);
        }
      }
      if (round < ticks) for (const r of rs) r.tick();
      else if (!moved) return;
    }
  };
  for (const r of rs) r.start();
  for (const [i, r] of rs.entries()) for (const other of ids) if (other !== ids[i]) r.peerUp(other);
  settle(30);
  return { rs, diverged, settle };
}

describe("run-time digest check", () => {
  it("a follower whose state differs at a committed zxid stops serving and reports it; the others go on", () => {
    // Node 1 logged another create at the same zxid (its store lied and passed its checks).
    const { rs, diverged, settle } = ensemble([[create("bad")], [create("good")], [create("good")]]);
    const leader = rs.find((r) => r.status().role === "leading")!;
    expect(leader).toBe(rs[2]);
    expect(rs.every((r) => r.status().serving)).toBe(true);
    expect(diverged).toEqual([]);

    leader.submit({ type: "createSession", token: 1, timeoutMs: 10_000, password: new Uint8Array(16) });
    settle();
    expect(diverged).toHaveLength(1);
    expect(diverged[0]).toMatchObject({ id: ids[0], leaders: rs[2]!.state.tree.digest() });
    expect(diverged[0]!.mine).not.toBe(diverged[0]!.leaders);
    // It had stopped serving when the shell was told (the shell then rebuilds it from the leader:
    // left alone, it would rejoin by DIFF with the same wrong state).
    expect(diverged[0]).toMatchObject({ servingThen: false, role: "looking" });
    expect(rs[1]!.status().serving).toBe(true);
    expect(rs[1]!.state.tree.digest()).toBe(rs[2]!.state.tree.digest());
  });

  it("replicas that agree never report a divergence", () => {
    const { rs, diverged, settle } = ensemble([[create("same")], [create("same")], [create("same")]]);
    const leader = rs.find((r) => r.status().role === "leading")!;
    for (let t = 1; t <= 5; t++) leader.submit({ type: "createSession", token: t, timeoutMs: 10_000, password: new Uint8Array(16) });
    settle();
    expect(rs.every((r) => r.state.lastZxid === leader.state.lastZxid)).toBe(true);
    expect(leader.state.lastZxid).toBeGreaterThan(makeZxid(1, 1));
    expect(diverged).toEqual([]);
  });
});
