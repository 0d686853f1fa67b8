import { describe, expect, it } from "vitest";
import { makeZxid } from "@keeper/protocol";
import { Election, asServerId, betterVote, type ServerId, type ZabConfig } from "../src/index.ts";

const ids = [1, 2, 3].map(asServerId);
const cfg: ZabConfig = { self: ids[0]!, voters: ids, dataBytesMax: 1 << 20, tickMs: 100, heartbeatTicks: 1, syncLimitTicks: 5, initLimitTicks: 10, finalizeTicks: 1, electionResendTicks: 5, logWindowTxns: 100 };
const vote = (leader: number, counter: number) => ({ leader: asServerId(leader), zxid: makeZxid(1, counter), epoch: 1 });

describe("Election", () => {
  it("betterVote() orders by epoch, then zxid, then id", () => {
    expect(betterVote({ ...vote(1, 5), epoch: 2 }, vote(3, 9))).toBe(true);
    expect(betterVote(vote(1, 9), vote(3, 5))).toBe(true);
    expect(betterVote(vote(3, 5), vote(1, 5))).toBe(true);
    expect(betterVote(vote(1, 5), vote(3, 5))).toBe(false);
  });

  it("adopts a better vote and decides at once when every reachable voter agrees", () => {
    const reachable = new Set<ServerId>([ids[1]!]); // server 3 is down
    const e = new Election(cfg, vote(1, 5), 0, () => reachable);
    expect(e.start().decided).toBeUndefined();
    const step = e.receive(ids[1]!, vote(2, 7), e.round, "looking");
    expect(e.vote.leader).toBe(2);
    expect(step.decided).toBe(2);
  });

  it("waits the finalize tick when a reachable voter has not voted yet", () => {
    const reachable = new Set<ServerId>([ids[1]!, ids[2]!]);
    const e = new Election(cfg, vote(1, 5), 0, () => reachable);
    e.start();
    expect(e.receive(ids[1]!, vote(2, 7), e.round, "looking").decided).toBeUndefined();
    expect(e.tick().decided).toBe(2);
  });

  it("a better vote arriving in the wait wins", () => {
    const reachable = new Set<ServerId>([ids[1]!, ids[2]!]);
    const e = new Election(cfg, vote(1, 5), 0, () => reachable);
    e.start();
    e.receive(ids[1]!, vote(1, 5), e.round, "looking");
    const step = e.receive(ids[2]!, vote(3, 9), e.round, "looking");
    expect(e.vote.leader).toBe(3);
    expect(step.decided).toBeUndefined();
    // Server 2 comes round to the better vote: all reachable voters agree now.
    expect(e.receive(ids[1]!, vote(3, 9), e.round, "looking").decided).toBe(3);
  });

  it("answers a worse vote of its own round with its vote, so a peer that missed it need not wait for a resend", () => {
    const reachable = new Set<ServerId>([ids[1]!, ids[2]!]);
    const e = new Election(cfg, vote(2, 5), 0, () => reachable);
    e.start();
    const step = e.receive(ids[1]!, vote(1, 5), e.round, "looking");
    expect(step.send).toEqual([{ to: ids[1], msg: { type: "notification", vote: vote(2, 5), round: e.round, state: "looking" } }]);
    // The same vote as ours needs no answer.
    expect(e.receive(ids[2]!, vote(2, 5), e.round, "looking").send).toEqual([]);
  });

  it("joins a leader that a quorum of settled nodes follows", () => {
    const e = new Election(cfg, vote(1, 5), 0, () => new Set(ids.slice(1)));
    e.start();
    expect(e.receive(ids[2]!, vote(3, 9), 7, "leading").decided).toBe(3);
  });
});
