// Identities across the ensemble: three real replicas wired by hand, no I/O. A client's write is
// checked by the leader against what the client's connection proved to that leader, whichever
// node the client is connected to; a follower cannot make a write run as a client attached
// elsewhere; and after the leader dies, the new leader hears every live connection again
// before any of its writes.
import { describe, expect, it } from "vitest";
import { Code, CreateMode, Perms, type SessionId } from "@keeper/protocol";
import { ReplicatedState, ZabReplica, asServerId, type ForwardedRequest, type ServerId, type WriteRequest, type ZabConfig } from "../src/index.ts";
import { fakeCredentials } from "./fake-credentials.ts";

const ids = [1, 2, 3].map(asServerId);
const enc = new TextEncoder();
/** Only alice (password pw) may do anything to /locked; the fake digest reverses the password. */
const LOCKED_ACL = [{ perms: Perms.ALL, scheme: "digest", id: "alice:wp" }];

function ensemble() {
  const outcomes = new Map<string, Code>();
  const sessions = new Map<number, SessionId>();
  const down = new Set<ServerId>();
  const rs = ids.map((self) => {
    const cfg: ZabConfig = { self, voters: ids, dataBytesMax: 1 << 20, tickMs: 100, heartbeatTicks: 1, syncLimitTicks: 5, initLimitTicks: 20, finalizeTicks: 1, electionResendTicks: 5, logWindowTxns: 100, credentials: fakeCredentials };
    return new ZabReplica(cfg, { state: new ReplicatedState(), log: [], acceptedEpoch: 0, currentEpoch: 0 }, {
      applied: (txn, outcome) => {
        if (txn.body.type === "createSession") sessions.set(txn.hdr.cxid, txn.hdr.sessionId);
        else outcomes.set(`${txn.hdr.sessionId}/${txn.hdr.cxid}`, outcome.err);
      },
      stateReset: () => {},
      roleChanged: () => {},
    });
  });
  const node = (id: ServerId) => rs[ids.indexOf(id)]!;
  const settle = (ticks = 0) => {
    for (let round = 0; round < 300; round++) {
      let moved = false;
      for (const r of rs) for (let b = r.takePersist(); b; b = r.takePersist()) r.persisted(b.seq, b.append.at(-1)?.hdr.zxid);
      for (const [i, r] of rs.entries()) {
        for (const { to, msg } of r.takeMessages()) {
          if (down.has(ids[i]!) || down.has(to)) continue;
          moved = true;
          node(to).receive(ids[i]!, msg);
        }
      }
      if (round < ticks) for (const [i, r] of rs.entries()) if (!down.has(ids[i]!)) r.tick();
      if (round >= ticks && !moved) return;
    }
  };
  for (const r of rs) r.start();
  for (const r of rs) for (const other of ids) if (other !== r.cfg.self) r.peerUp(other);
  settle(30);
  const leader = () => rs.find((r, i) => !down.has(ids[i]!) && r.status().role === "leading" && r.status().serving)!;
  let cxid = 100;
  /** Submits `request` on node `via` as connection `conn` of `session`; the outcome once settled. */
  const write = (via: ZabReplica, session: SessionId, conn: number, request: WriteRequest): Code | undefined => {
    const req: ForwardedRequest = { type: "write", sessionId: session, conn, cxid: ++cxid, request };
    expect(via.submit(req)).toBe(true);
    settle();
    return outcomes.get(`${session}/${cxid}`);
  };
  const newSession = (via: ZabReplica, token: number): SessionId => {
    via.submit({ type: "createSession", token, timeoutMs: 60_000, password: new Uint8Array(16) });
    settle();
    return sessions.get(token)!;
  };
  /** Stops every message to and from `id`, as a killed process; the others see its links drop. */
  const kill = (id: ServerId) => {
    down.add(id);
    for (const r of rs) if (r.cfg.self !== id) r.peerDown(id);
  };
  return { rs, node, settle, leader, write, newSession, kill };
}

const createLocked: WriteRequest = { type: "create", path: "/locked", data: enc.encode("x"), acl: LOCKED_ACL, mode: CreateMode.PERSISTENT, ttlMs: 0 };
const setLocked = (data: string): WriteRequest => ({ type: "setData", path: "/locked", data: enc.encode(data), version: -1 });

describe("identities are the leader's own", () => {
  it("a client that authenticated on a follower writes where its ACL allows; without the credential it may not", () => {
    const e = ensemble();
    const leader = e.leader();
    const [f1, f2] = e.rs.filter((r) => r !== leader) as [ZabReplica, ZabReplica];
    const alice = e.newSession(f1, 1);
    f1.attach(alice, 7, "10.0.0.5");
    expect(e.write(f1, alice, 7, createLocked)).toBe(Code.OK);
    expect(e.write(f1, alice, 7, setLocked("anonymous"))).toBe(Code.NOAUTH);
    f1.credential(alice, 7, "digest", enc.encode("alice:pw"));
    expect(e.write(f1, alice, 7, setLocked("alice"))).toBe(Code.OK);
    // A wrong password proves nothing at the leader, whatever the follower thought of it.
    const mallory = e.newSession(f2, 2);
    f2.attach(mallory, 3, "10.0.0.6");
    f2.credential(mallory, 3, "digest", enc.encode("alice:guess"));
    expect(e.write(f2, mallory, 3, setLocked("mallory"))).toBe(Code.NOAUTH);
  });

  it("a write for a session attached elsewhere runs as nobody: another follower, or another connection", () => {
    const e = ensemble();
    const leader = e.leader();
    const [f1, f2] = e.rs.filter((r) => r !== leader) as [ZabReplica, ZabReplica];
    const alice = e.newSession(f1, 1);
    f1.attach(alice, 7, "10.0.0.5");
    f1.credential(alice, 7, "digest", enc.encode("alice:pw"));
    expect(e.write(f1, alice, 7, createLocked)).toBe(Code.OK);
    // Follower 2 never held alice's connection: naming her session and connection gets it nothing.
    expect(e.write(f2, alice, 7, setLocked("forged"))).toBe(Code.NOAUTH);
    // Nor does attaching her session there first: auth is per connection, and it has her address only.
    f2.attach(alice, 7, "10.0.0.5");
    expect(e.write(f2, alice, 7, setLocked("forged"))).toBe(Code.NOAUTH);
    // ... and follower 1's connection lost alice's identities when her session moved.
    expect(e.write(f1, alice, 7, setLocked("stale"))).toBe(Code.NOAUTH);
    expect(e.write(leader, alice, 1, setLocked("leader"))).toBe(Code.NOAUTH);
  });

  it("after the leader dies, a connection that stayed up on a follower writes as before; the new leader verified it", () => {
    const e = ensemble();
    const old = e.leader();
    const [f1, f2] = e.rs.filter((r) => r !== old) as [ZabReplica, ZabReplica];
    const alice = e.newSession(f1, 1);
    f1.attach(alice, 7, "10.0.0.5");
    f1.credential(alice, 7, "digest", enc.encode("alice:pw"));
    expect(e.write(f1, alice, 7, createLocked)).toBe(Code.OK);
    const bob = e.newSession(f2, 2);
    f2.attach(bob, 4, "10.0.0.6");
    // Alice again, on a second session attached on the other follower.
    const alice2 = e.newSession(f2, 3);
    f2.attach(alice2, 5, "10.0.0.7");
    f2.credential(alice2, 5, "digest", enc.encode("alice:pw"));
    e.kill(old.cfg.self);
    e.settle(60);
    const leader = e.leader();
    expect(leader).toBeDefined();
    expect(leader).not.toBe(old);
    // Whichever of the two leads now, alice's connection on follower 1 was registered with it.
    expect(e.write(f1, alice, 7, setLocked("after failover"))).toBe(Code.OK);
    expect(e.write(f2, bob, 4, setLocked("bob"))).toBe(Code.NOAUTH);
    // One of the two is the new leader: its own connections were registered as it was established.
    expect(e.write(f2, alice2, 5, setLocked("alice on the other one"))).toBe(Code.OK);
    // A connection that closes takes its identities with it.
    f1.detach(alice, 7);
    e.settle();
    expect(e.write(f1, alice, 7, setLocked("closed"))).toBe(Code.NOAUTH);
  });

  it("a connection attached while its node had no leader is registered once one is established", () => {
    const e = ensemble();
    const old = e.leader();
    const [f1] = e.rs.filter((r) => r !== old) as [ZabReplica, ZabReplica];
    const alice = e.newSession(f1, 1);
    f1.attach(alice, 7, "10.0.0.5");
    f1.credential(alice, 7, "digest", enc.encode("alice:pw"));
    expect(e.write(f1, alice, 7, createLocked)).toBe(Code.OK);
    e.kill(old.cfg.self);
    // Before the election settles: f1 is looking, the attachment waits in its registry.
    f1.detach(alice, 7);
    f1.attach(alice, 8, "10.0.0.5");
    f1.credential(alice, 8, "digest", enc.encode("alice:pw"));
    e.settle(60);
    expect(e.write(f1, alice, 8, setLocked("registered late"))).toBe(Code.OK);
  });
});
