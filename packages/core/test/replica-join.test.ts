// A node that settles on the wrong leader (its election decided on votes that were already
// stale) finds the real one at once, instead of waiting out initLimit: replicas driven by
// hand-fed messages.
import { describe, expect, it } from "vitest";
import { ReplicatedState, ZabReplica, asServerId, type PeerMessage, type ServerId, type ZabConfig } from "../src/index.ts";

const [s1, s2, s3] = [1, 2, 3].map(asServerId) as [ServerId, ServerId, ServerId];

function replica(self: ServerId) {
  const cfg: ZabConfig = { self, voters: [s1, s2, s3], dataBytesMax: 1 << 20, tickMs: 100, heartbeatTicks: 1, syncLimitTicks: 5, initLimitTicks: 20, finalizeTicks: 1, electionResendTicks: 5, logWindowTxns: 100 };
  const r = new ZabReplica(cfg, { state: new ReplicatedState(), log: [], acceptedEpoch: 0, currentEpoch: 0 }, { applied: () => {}, stateReset: () => {}, roleChanged: () => {} });
  const sent: Array<{ to: ServerId; msg: PeerMessage }> = [];
  const settle = () => {
    for (let b = r.takePersist(); b; b = r.takePersist()) r.persisted(b.seq, b.append.at(-1)?.hdr.zxid);
    sent.push(...r.takeMessages());
  };
  r.start();
  r.peerUp(self === s1 ? s2 : s1);
  r.peerUp(self === s3 ? s2 : s3);
  settle();
  return { r, sent, settle };
}

const vote = (leader: ServerId, epoch = 0) => ({ leader, zxid: 0 as never, epoch });
/** A notification in the receiver's current election round. */
const note = (to: ZabReplica, leader: ServerId, state: "looking" | "following" | "leading", epoch = 0): PeerMessage => ({ type: "notification", vote: vote(leader, epoch), round: to.status().round, state });

describe("joining the leader a quorum already follows", () => {
  it("a would-be leader still collecting followers steps down when an established leader of a newer epoch speaks, then joins it", () => {
    const { r, settle } = standalone3();
    expect(r.status()).toMatchObject({ role: "leading", serving: false });
    // It says why it serves nobody yet (an operator reads this in /status).
    expect(r.status().activity).toMatch(/^leading: waiting for followers, 1 of 2 needed have reported$/);
    // Server 2 leads epoch 1, which server 3 never accepted.
    expect(r.status().electionReason).toBe("start");
    r.receive(s2, note(r, s2, "leading", 1));
    settle();
    expect(r.status().role).toBe("looking");
    // The new election says why it started (the shell logs it and counts it).
    expect(r.status().electionReason).toBe("server 2 leads epoch 1");
    // Its looking vote is answered by the settled nodes: it joins them.
    r.receive(s2, note(r, s2, "leading", 1));
    r.receive(s1, note(r, s2, "following", 1));
    settle();
    expect(r.status()).toMatchObject({ role: "following", leader: s2 });
  });

  it("an announcement from an epoch this node already accepted does not unseat it", () => {
    const { r, settle } = standalone3();
    r.receive(s2, note(r, s2, "leading", 0));
    settle();
    expect(r.status().role).toBe("leading");
  });

  it("a node asked to lead while it follows another says so, and the asker looks again at once", () => {
    // Server 2 follows server 3 ...
    const two = replica(s2);
    two.r.receive(s1, note(two.r, s3, "looking"));
    two.r.receive(s3, note(two.r, s3, "looking"));
    two.settle();
    expect(two.r.status()).toMatchObject({ role: "following", leader: s3 });
    // ... and server 1 chose server 2.
    const one = replica(s1);
    one.r.receive(s2, note(one.r, s2, "looking"));
    one.r.receive(s3, note(one.r, s2, "looking"));
    one.settle();
    expect(one.r.status()).toMatchObject({ role: "following", leader: s2 });
    const info = one.sent.find((o) => o.to === s2 && o.msg.type === "followerInfo")!;
    expect(info).toBeDefined();
    two.sent.length = 0;
    two.r.receive(s1, info.msg);
    two.settle();
    const hint = two.sent.find((o) => o.to === s1)!;
    expect(hint.msg).toMatchObject({ type: "notification", state: "following", vote: { leader: s3 } });
    one.r.receive(s2, hint.msg);
    one.settle();
    expect(one.r.status().role).toBe("looking");
  });
});

/** Server 3, leading but not yet established: servers 1 and 2 voted for it, then went quiet. */
function standalone3() {
  const three = replica(s3);
  three.r.receive(s1, note(three.r, s3, "looking"));
  three.r.receive(s2, note(three.r, s3, "looking"));
  three.settle();
  return three;
}
