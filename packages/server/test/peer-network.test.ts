import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { asServerId, type PeerMessage, type ServerId } from "@keeper/core";
import { CreateMode, OPEN_ACL_UNSAFE, asSessionId, makeZxid, protoRoot } from "@keeper/protocol";
import { PeerNetwork } from "../src/peers/peer-network.ts";
import { legacyForwardFrame } from "../../../test/support/legacy-forward.ts";
import { decodePeerFrame, encodePeerFrame } from "../src/peers/peer-codec.ts";
import { canonicalPeers, parsePeers } from "../src/config.ts";
import { TEST_PEER_AUTH, freePort } from "../../../test/support/processes.ts";

const silent = pino({ level: "silent" });

describe("peer codec", () => {
  const txn = { hdr: { zxid: makeZxid(2, 7), time: 1234, sessionId: asSessionId(99), cxid: 5 }, body: { type: "create" as const, path: "/a", data: new Uint8Array([1, 2]), acl: [...OPEN_ACL_UNSAFE], ephemeralOwner: asSessionId(0) } };
  const messages: PeerMessage[] = [
    { type: "notification", vote: { leader: asServerId(3), zxid: makeZxid(1, 9), epoch: 1 }, round: 4, state: "looking" },
    { type: "followerInfo", syncId: 2, acceptedEpoch: 3, lastZxid: makeZxid(3, 1) },
    { type: "leaderInfo", syncId: 2, epoch: 4 },
    { type: "ackEpoch", syncId: 2, epoch: 4, currentEpoch: 3, lastZxid: makeZxid(3, 1) },
    { type: "snap", syncId: 2, zxid: makeZxid(3, 1), chunks: [new Uint8Array([9, 9])] },
    { type: "trunc", syncId: 2, zxid: makeZxid(3, 1) },
    { type: "diff", syncId: 2, txns: [txn] },
    { type: "newLeader", syncId: 2, epoch: 4, zxid: makeZxid(3, 1) },
    { type: "ack", syncId: 2, epoch: 4, zxid: makeZxid(4, 2) },
    { type: "upToDate", syncId: 2, epoch: 4, commitZxid: makeZxid(4, 2) },
    { type: "proposal", epoch: 4, txn },
    { type: "commit", epoch: 4, zxid: makeZxid(4, 2) },
    { type: "ping", epoch: 4, commitZxid: makeZxid(4, 2), sessions: [asSessionId(5), asSessionId(2 ** 40)] },
    { type: "forward", epoch: 4, req: { type: "write", sessionId: asSessionId(5), conn: 12, cxid: 8, request: { type: "create", path: "/x", data: new Uint8Array([3]), acl: [...OPEN_ACL_UNSAFE], mode: CreateMode.EPHEMERAL, ttlMs: 0 } } },
    { type: "forward", epoch: 4, req: { type: "bind", sessionId: asSessionId(5), conn: 12, address: "10.0.0.1" } },
    { type: "forward", epoch: 4, req: { type: "auth", sessionId: asSessionId(5), conn: 12, scheme: "digest", auth: new TextEncoder().encode("u:pw") } },
    { type: "forward", epoch: 4, req: { type: "unbind", sessionId: asSessionId(5), conn: 12 } },
    { type: "forward", epoch: 4, req: { type: "createSession", token: 77, timeoutMs: 3000, password: new Uint8Array([1, 2, 3]) } },
    { type: "forward", epoch: 4, req: { type: "closeSession", sessionId: asSessionId(5), cxid: 9 } },
  ];
  it.each(messages.map((m) => [m.type, m] as const))("a %s message survives a round trip", (_t, msg) => {
    const back = decodePeerFrame(encodePeerFrame({ kind: "message", msg }));
    expect(back.kind).toBe("message");
    expect(plain((back as { msg: PeerMessage }).msg)).toEqual(plain(msg));
  });

  it("a batch carries its messages in order", () => {
    const back = decodePeerFrame(encodePeerFrame({ kind: "batch", frames: messages.map((msg) => encodePeerFrame({ kind: "message", msg })) }));
    expect(back.kind).toBe("batch");
    expect(plain((back as { messages: PeerMessage[] }).messages)).toEqual(plain(messages));
  });

  it("a batch holding a batch, a hello or garbage is a FrameError", () => {
    const one = encodePeerFrame({ kind: "message", msg: messages[0]! });
    const hello = encodePeerFrame({ kind: "hello", serverId: asServerId(1), peers: "1=a:1", protocolVersion: 4, nonce: new Uint8Array(32) });
    for (const frames of [[encodePeerFrame({ kind: "batch", frames: [one] })], [one, hello], [one, new Uint8Array([0xff, 0xff, 0xff])]]) {
      expect(() => decodePeerFrame(encodePeerFrame({ kind: "batch", frames }))).toThrow(/batch|peer frame/);
    }
  });

  it("a forwarded write in peer protocol 4's shape loses its identities and system flag: none travels any more", () => {
    const forged = legacyForwardFrame({ epoch: 4, sessionId: 5, cxid: 1, conn: 3, request: { type: "delete", path: "/x", version: -1 }, ids: [{ scheme: "super", id: "" }, { scheme: "digest", id: "owner:x" }], system: true });
    const back = decodePeerFrame(forged);
    expect(back.kind === "message" && back.msg.type === "forward" ? back.msg.req : undefined).toEqual({ type: "write", sessionId: 5, conn: 3, cxid: 1, request: { type: "delete", path: "/x", version: -1 } });
  });

  it("garbage is a FrameError, never another exception", () => {
    for (let i = 0; i < 200; i++) {
      const junk = Uint8Array.from({ length: 1 + (i % 40) }, (_, j) => (i * 31 + j * 17) & 0xff);
      try {
        decodePeerFrame(junk);
      } catch (e) {
        expect((e as Error).name).toBe("KeeperError");
      }
    }
  });
});

/** Bytes as plain arrays (Buffer and Uint8Array alike), recursively, for comparison. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

describe("PeerNetwork handshake", () => {
  const nets: PeerNetwork[] = [];
  afterEach(async () => {
    await Promise.all(nets.splice(0).map((n) => n.close()));
  });

  async function node(id: number, spec: string, claimedSpec = spec) {
    const ups: ServerId[] = [];
    const received: PeerMessage[] = [];
    const members = parsePeers(spec);
    const net = new PeerNetwork(asServerId(id), members, canonicalPeers(parsePeers(claimedSpec)), { up: (p) => ups.push(p), down: () => {}, message: (_from, m) => received.push(m) }, silent, { auth: TEST_PEER_AUTH });
    nets.push(net);
    await net.listen("127.0.0.1", members.find((m) => m.id === id)?.port ?? (await freePort()));
    return { net, ups, received };
  }

  async function until(cond: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  }

  it("two members of one ensemble link up", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const spec = `1=127.0.0.1:${p1},2=127.0.0.1:${p2}`;
    const a = await node(1, spec);
    const b = await node(2, spec);
    await until(() => a.ups.length > 0 && b.ups.length > 0);
    expect(a.ups).toEqual([2]);
    expect(b.ups).toEqual([1]);
  });

  it("messages sent in one turn, small ones batched and a big one alone, arrive once each and in order", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const spec = `1=127.0.0.1:${p1},2=127.0.0.1:${p2}`;
    const a = await node(1, spec);
    const b = await node(2, spec);
    await until(() => a.ups.length > 0 && b.ups.length > 0);
    const sent: PeerMessage[] = [];
    for (let i = 1; i <= 3000; i++) {
      // Every 1000th is a 300 KiB snap: bigger than a batch may be.
      const msg: PeerMessage = i % 1000 === 0
        ? { type: "snap", syncId: i, zxid: makeZxid(1, i), chunks: [new Uint8Array(300 * 1024).fill(i % 251)] }
        : { type: "commit", epoch: 1, zxid: makeZxid(1, i) };
      sent.push(msg);
      a.net.send(asServerId(2), msg);
    }
    await until(() => b.received.length >= sent.length, 10_000);
    expect(b.received.map((m) => m.type === "commit" ? m.zxid : m.type === "snap" ? m.syncId : -1)).toEqual(sent.map((m, i) => (m.type === "snap" ? i + 1 : makeZxid(1, i + 1))));
  });

  it("nodes given different peer lists refuse each other and say why", async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const a = await node(1, `1=127.0.0.1:${p1},2=127.0.0.1:${p2}`);
    const b = await node(2, `1=127.0.0.1:${p1},2=127.0.0.1:${p2}`, `1=127.0.0.1:${p1},2=127.0.0.1:${p2},3=127.0.0.1:${p3}`);
    await until(() => a.net.refusals.size > 0 || b.net.refusals.size > 0);
    expect(a.ups).toEqual([]);
    expect([...a.net.refusals.values(), ...b.net.refusals.values()].join(" ")).toMatch(/peer lists differ/);
  });

  it("a server id outside the ensemble is refused", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const a = await node(1, `1=127.0.0.1:${p1},2=127.0.0.1:${p2}`);
    // Server 9 believes it belongs with server 1 at that address; server 1 disagrees.
    const intruder = await node(9, `1=127.0.0.1:${p1},9=127.0.0.1:${p2}`);
    await until(() => a.net.refusals.size > 0);
    expect(a.ups).toEqual([]);
    expect(intruder.ups).toEqual([]);
    expect([...a.net.refusals.values()].join(" ")).toMatch(/not in the ensemble/);
  });
});
