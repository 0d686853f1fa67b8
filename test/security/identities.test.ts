// Identities are never taken from a peer's word: the leader checks every write against what the
// client's own connection proved to it. Real `keeper server` processes; the compromised follower
// is a member played by the test (startInnerMember) with the ensemble's real secret, so its
// forwards pass the handshake and arrive as a follower's. Under peer protocol 4 its forward
// claiming the owner's digest rewrote the owner's ACL; now it runs as nobody.
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { asServerId } from "@keeper/core";
import { Code, KeeperError, type KeeperClient } from "@keeper/client";
import { asSessionId } from "@keeper/protocol";
import { HOST, poll, startEnsemble, tryStatus, type Ensemble } from "../support/ensemble.ts";
import { startInnerMember, type InnerMember } from "../support/inner-member.ts";
import { legacyForwardFrame } from "../support/legacy-forward.ts";
import { waitForState } from "../support/harness.ts";

const digestId = (userPassword: string) => `${userPassword.split(":")[0]}:${createHash("sha1").update(userPassword).digest("base64")}`;
const OWNER = digestId("owner:pw");
const enc = new TextEncoder();
const dec = new TextDecoder();
const openUp = { type: "setACL" as const, path: "/locked", acl: [{ perms: 31, scheme: "world", id: "anyone" }], version: -1 };

async function code(p: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await p;
    return "OK";
  } catch (e) {
    if (e instanceof KeeperError) return e.code;
    throw e;
  }
}

describe("identities come from the leader, never from a peer", () => {
  let e: Ensemble | undefined;
  let inner: InnerMember | undefined;
  afterAll(async () => {
    await inner?.close();
    await e?.cleanup();
  });

  it("a follower's forged identities get nothing; addAuth on a follower writes; after the leader dies the owner still writes", async () => {
    e = await startEnsemble({ size: 3 });
    const { node: leader, status } = await e.waitForLeader();
    const [f, g] = e.nodes.filter((n) => n.id !== leader.id) as [(typeof e.nodes)[number], (typeof e.nodes)[number]];

    // The owner is connected to a follower only: its auth and its writes reach the leader from there.
    const owner: KeeperClient = await e.connect({ hosts: [f] });
    await owner.addAuth("digest", "owner:pw");
    await owner.create("/locked", "secret", { acl: [{ perms: 31, scheme: "digest", id: OWNER }] });
    await owner.setData("/locked", "by the owner, through a follower");
    const mallory = await e.connect({ hosts: [leader] });
    expect(await code(mallory.setData("/locked", "anonymous"))).toBe(Code.NOAUTH);

    // Node g's place is taken by the compromised member.
    await g.kill();
    inner = await startInnerMember(g.id, e.peers, HOST, g.peerPort);
    await poll(() => inner!.replica.status().serving && inner!.replica.status().leader === leader.id, { timeoutMs: 20_000, what: "the compromised member to join" });
    const before = (await tryStatus(leader.clientPort))!.lastZxid as number;
    const session = asSessionId(mallory.sessionId);
    // 1. Protocol 4's forward: mallory's write, claiming the owner's digest beside it.
    inner.sendRaw(asServerId(leader.id), legacyForwardFrame({ epoch: status.epoch, sessionId: session, cxid: 77, request: openUp, ids: [{ scheme: "digest", id: OWNER }] }));
    // 2. Today's protocol: mallory's session attached on the compromised member, a guessed password, the write.
    inner.input((r) => {
      r.attach(session, 99, "127.0.0.1");
      r.credential(session, 99, "digest", enc.encode("owner:guess"));
      expect(r.submit({ type: "write", sessionId: session, conn: 99, cxid: 78, request: openUp })).toBe(true);
    });
    // Both were prepared (as NOAUTH error transactions): the leader moved on by two.
    await poll(async () => ((await tryStatus(leader.clientPort))?.lastZxid as number) >= before + 2, { timeoutMs: 10_000, what: "the forged writes to be prepared" });
    expect(await code(mallory.getData("/locked"))).toBe(Code.NOAUTH);
    expect((await owner.getACL("/locked")).acl).toEqual([{ perms: 31, scheme: "digest", id: OWNER }]);

    // The real node g comes back; then the leader dies.
    await inner.close();
    inner = undefined;
    await g.start();
    await e.waitConverged({ timeoutMs: 30_000 });
    await leader.kill();
    await e.waitForLeader({ notId: leader.id, timeoutMs: 30_000 });
    // The owner's node lost its leader and closed the connection; the client reconnected and sent
    // its credentials again, and the new leader checked them.
    await waitForState(owner, "connected", 20_000);
    await poll(async () => (await code(owner.setData("/locked", "after the failover"))) === "OK", { timeoutMs: 20_000, what: "the owner's write after the failover" });
    expect(dec.decode((await owner.getData("/locked")).data)).toBe("after the failover");
    const fresh = await e.connect({ hosts: [f, g] });
    expect(await code(fresh.setData("/locked", "anonymous"))).toBe(Code.NOAUTH);
  }, 120_000);
});
