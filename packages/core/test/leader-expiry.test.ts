// The leader's session expiry, through a whole single-voter ZabReplica: a session is never
// expired sooner than its timeout after the leader last heard of it, although the leader only
// counts ticks and a touch arrives between two of them.
import { describe, expect, it } from "vitest";
import type { SessionId } from "@keeper/protocol";
import { ReplicatedState, ZabReplica, asServerId, type Txn, type ZabConfig } from "../src/index.ts";

const TICK_MS = 100;
const TIMEOUT_MS = 400; // four ticks
const cfg: ZabConfig = { self: asServerId(1), voters: [asServerId(1)], dataBytesMax: 1 << 20, tickMs: TICK_MS, heartbeatTicks: 1, syncLimitTicks: 5, initLimitTicks: 10, finalizeTicks: 1, electionResendTicks: 5, logWindowTxns: 100 };

function standalone() {
  const applied: Txn[] = [];
  const r = new ZabReplica(cfg, { state: new ReplicatedState(), log: [], acceptedEpoch: 0, currentEpoch: 0 }, { applied: (t) => void applied.push(t), stateReset: () => {}, roleChanged: () => {} });
  /** Carries out the replica's outputs, as the server's shell does: persist, then report. */
  const settle = () => {
    for (let b = r.takePersist(); b; b = r.takePersist()) r.persisted(b.seq, b.append.at(-1)?.hdr.zxid);
    r.takeMessages();
  };
  r.start();
  settle();
  return { r, applied, settle };
}

describe("leader session expiry", () => {
  it("a session touched between two ticks lives at least its full timeout after the touch", () => {
    const { r, applied, settle } = standalone();
    expect(r.status().serving).toBe(true);
    expect(r.submit({ type: "createSession", token: 1, timeoutMs: TIMEOUT_MS, password: new Uint8Array(16) })).toBe(true);
    settle();
    const session = applied.find((t) => t.body.type === "createSession")!.hdr.sessionId as SessionId;
    r.tick();
    settle();
    // The client's ping arrives now, somewhere inside the next tick interval.
    r.touchSessions([session]);
    const expired = () => applied.some((t) => t.body.type === "closeSession" && t.hdr.sessionId === session);
    let ticks = 0;
    while (!expired() && ticks < 20) {
      r.tick();
      settle();
      ticks++;
    }
    expect(expired()).toBe(true);
    // The touch may have come just before the first of these ticks: only the intervals after
    // that one are sure to be whole, and they must cover the timeout.
    expect(ticks - 1).toBeGreaterThanOrEqual(TIMEOUT_MS / TICK_MS);
    expect(ticks - 1).toBeLessThanOrEqual(TIMEOUT_MS / TICK_MS + 1);
  });
});
