// The takeover a review showed on a live node, replayed against real `keeper server` processes;
// every step must now fail. Strangers who reach the peer port without the ensemble's secret
// cannot join, cannot make a node serve, cannot cut a member's link with a forged or replayed
// hello, cannot slip a forward past the handshake, and cannot make the node buffer a huge
// frame. What a forward from a member (a compromised one) gets: test/security/identities.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import pino from "pino";
import { asServerId } from "@keeper/core";
import { Code, KeeperError } from "@keeper/client";
import { CreateMode } from "@keeper/protocol";
import { PeerNetwork } from "../../packages/server/src/peers/peer-network.ts";
import { encodePeerFrame } from "../../packages/server/src/peers/peer-codec.ts";
import { canonicalPeers, parsePeers } from "../../packages/server/src/config.ts";
import { proofOf, newNonce } from "../../packages/server/src/peers/peer-auth.ts";
import { HOST, sleep, startEnsemble, tryStatus, type Ensemble } from "../support/ensemble.ts";
import { TEST_PEER_SECRET, freePort, startNodeProcess, tempDir, type NodeProcess } from "../support/processes.ts";
import { helloFrame, hugeFrame, hugeHttpBody, messageFrame, rogueExchange, rssBytes } from "../support/rogue-peer.ts";

const MiB = 1024 * 1024;

describe("a node whose only peers are strangers", () => {
  const dir = tempDir("keeper-takeover-");
  const rogues: PeerNetwork[] = [];
  let node: NodeProcess | undefined;
  afterAll(async () => {
    await Promise.all(rogues.map((r) => r.close()));
    await node?.stop();
    dir.cleanup();
  });

  it("refuses them, never serves, and a 100 MiB frame or HTTP body before authentication leaves its memory alone", async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const spec = `1=${HOST}:${p1},2=${HOST}:${p2},3=${HOST}:${p3}`;
    node = await startNodeProcess({ serverId: 1, dataDir: dir.path, extraArgs: ["--peers", spec, "--tick-ms", "50"] });
    // Servers 2 and 3 as the review's script played them: right ids, right peer list (public
    // in /status), no secret. They dial server 1 again and again.
    for (const id of [2, 3]) {
      const members = parsePeers(spec);
      const rogue = new PeerNetwork(asServerId(id), members, canonicalPeers(members), { up: () => {}, down: () => {}, message: () => {} }, pino({ level: "silent" }), { auth: { secret: Buffer.from("a-guess-at-the-secret") } });
      rogues.push(rogue);
      await rogue.listen(HOST, id === 2 ? p2 : p3);
    }
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      const s = await tryStatus(node.port);
      expect(s?.serving, "a node with only strangers for peers must not serve").toBe(false);
      expect(s?.peers.filter((p: { self: boolean; connected: boolean }) => !p.self && p.connected)).toEqual([]);
      await sleep(200);
    }
    // The two strangers share their guess, so they may link with each other, never with server 1.
    for (const r of rogues) expect(r.connected).not.toContain(1);
    for (const r of rogues) expect(r.refusals.get(asServerId(1))).toMatch(/could not prove it holds the ensemble's peer secret/);

    // Memory: the frame limit before authentication is 4 KiB, so announcing 100 MiB ends the
    // connection at the header; an HTTP body is never read into memory either.
    const before = rssBytes(node.pid);
    const frameSent = await hugeFrame(HOST, p1, 100 * MiB);
    const bodySent = await hugeHttpBody(HOST, p1, 100 * MiB);
    await sleep(500);
    const after = rssBytes(node.pid);
    console.log(`RSS ${Math.round(before / MiB)} -> ${Math.round(after / MiB)} MiB; the node took ${Math.round(frameSent / MiB)} MiB of the frame and ${Math.round(bodySent / MiB)} MiB of the body before hanging up`);
    expect(after - before).toBeLessThan(8 * MiB);
    expect((await tryStatus(node.port))?.serving).toBe(false);
  }, 60_000);
});

describe("an ensemble and a stranger who knows its peer list", () => {
  let e: Ensemble;
  afterAll(async () => {
    await e?.cleanup();
  });

  it("keeps every link through forged and replayed hellos, and refuses a forward from a stranger", async () => {
    // At info level, so every "peer link down" shows in the nodes' output.
    e = await startEnsemble({ size: 3, extraArgs: ["--log-level", "info"] });
    const { node: leader, status } = await e.waitForLeader();
    // A leader is established with a quorum; the link between its two followers may come up a
    // little later. Every link up first, then the strangers.
    const allLinksUp = async () => {
      for (const n of e.nodes) if (!(await tryStatus(n.clientPort))?.peers.every((p: { connected: boolean }) => p.connected)) return false;
      return true;
    };
    for (let waited = 0; !(await allLinksUp()); waited += 100) {
      if (waited > 20_000) throw new Error("the ensemble's peer links did not all come up");
      await sleep(100);
    }
    const linksDown = () => e.nodes.map((n) => n.output().match(/peer link down/g)?.length ?? 0);
    const downBefore = linksDown();
    // The nodes do log their links (else the check below proves nothing).
    for (const n of e.nodes) expect(n.output(), `node ${n.id}`).toMatch(/peer link up/);
    const c = await e.connect();
    // A znode only one digest user may touch.
    await c.create("/locked", "secret", { mode: CreateMode.PERSISTENT, acl: [{ perms: 31, scheme: "digest", id: "owner:Z4DhmRFc0A5MFZ6HeBH6Lu/ul5c=" }] });
    const zxidBefore = (await tryStatus(leader.clientPort))!.lastZxid as number;
    const peers = e.peers;
    for (const target of e.nodes) {
      for (const claimed of e.nodes.filter((n) => n.id > target.id)) {
        // The forged hello of the review, then one that replays a proof from another handshake.
        const forged = await rogueExchange(HOST, target.peerPort, [helloFrame(claimed.id, peers), encodePeerFrame({ kind: "proof", proof: new Uint8Array(32) })]);
        expect(forged.received.at(-1)).toMatch(/could not prove/);
        const stale = proofOf(Buffer.from(TEST_PEER_SECRET), "dial", { peers, dialer: claimed.id, acceptor: target.id, dialerNonce: new Uint8Array(32).fill(7), acceptorNonce: newNonce() });
        const replayed = await rogueExchange(HOST, target.peerPort, [helloFrame(claimed.id, peers), encodePeerFrame({ kind: "proof", proof: stale })]);
        expect(replayed.received.at(-1)).toMatch(/could not prove/);
      }
    }
    // A forward that would open a digest-protected ACL: sent with no handshake, then after a hello.
    const forward = messageFrame({ type: "forward", epoch: status.epoch, req: { type: "write", sessionId: 1 as never, cxid: 1, conn: 1, request: { type: "setACL", path: "/locked", acl: [{ perms: 31, scheme: "world", id: "anyone" }], version: -1 } } });
    expect((await rogueExchange(HOST, leader.peerPort, [forward])).received).toEqual(["refusal: hello expected"]);
    const follower = e.nodes.find((n) => n.id !== leader.id && n.id > leader.id) ?? e.nodes.find((n) => n.id !== leader.id)!;
    const afterHello = await rogueExchange(HOST, leader.peerPort, [helloFrame(Math.max(follower.id, leader.id + 1), peers), forward]);
    expect(afterHello.received.at(-1)).toMatch(/^refusal: (proof expected|hello expected|server \d+ is not in the ensemble)/);

    // Nothing moved: every link stayed up the whole time, no transaction was added, the ACL holds.
    expect(linksDown(), "peer links that went down while the strangers tried").toEqual(downBefore);
    const s = (await tryStatus(leader.clientPort))!;
    expect(s.epoch).toBe(status.epoch);
    expect(s.lastZxid).toBe(zxidBefore);
    for (const n of e.nodes) expect((await tryStatus(n.clientPort))!.peers.every((p: { connected: boolean }) => p.connected)).toBe(true);
    await expect(c.getData("/locked")).rejects.toSatisfy((err: unknown) => err instanceof KeeperError && err.code === Code.NOAUTH);
    await c.create("/still-writable", "");
  }, 90_000);
});
