// Peer authentication: the proofs themselves, then PeerNetwork under strangers, replays,
// duplicates and TLS certificates that speak for the wrong server.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { asServerId, type PeerMessage, type ServerId } from "@keeper/core";
import { asSessionId, makeZxid } from "@keeper/protocol";
import { PeerNetwork } from "../src/peers/peer-network.ts";
import { certServerId, newNonce, proofOf, proofValid, type HandshakeFacts, type PeerAuth } from "../src/peers/peer-auth.ts";
import { encodePeerFrame } from "../src/peers/peer-codec.ts";
import { canonicalPeers, parsePeers } from "../src/config.ts";
import { TEST_PEER_AUTH, freePort } from "../../../test/support/processes.ts";
import { helloFrame, rogueExchange } from "../../../test/support/rogue-peer.ts";

const silent = pino({ level: "silent" });
const secret = Buffer.from("0123456789abcdef-the-ensemble");

describe("peer proofs", () => {
  const facts: HandshakeFacts = { peers: "1=a:1,2=b:1", dialer: 2, acceptor: 1, dialerNonce: newNonce(), acceptorNonce: newNonce() };

  it("proofValid() accepts the proof made for the same facts and role", () => {
    expect(proofValid(secret, "dial", facts, proofOf(secret, "dial", facts))).toBe(true);
    expect(proofValid(secret, "accept", facts, proofOf(secret, "accept", facts))).toBe(true);
  });

  it.each([
    ["another acceptor nonce (a replayed handshake)", { acceptorNonce: newNonce() }],
    ["another dialer nonce", { dialerNonce: newNonce() }],
    ["another claimed id", { dialer: 3 }],
    ["another peer list", { peers: "1=a:1,2=b:1,3=c:1" }],
  ])("proofValid() refuses a proof made for %s", (_what, change) => {
    expect(proofValid(secret, "dial", { ...facts, ...change }, proofOf(secret, "dial", facts))).toBe(false);
  });

  it("proofValid() refuses the other role's proof (no reflection), another secret's, and junk", () => {
    expect(proofValid(secret, "dial", facts, proofOf(secret, "accept", facts))).toBe(false);
    expect(proofValid(secret, "dial", facts, proofOf(Buffer.from("another-secret-of-16+"), "dial", facts))).toBe(false);
    expect(proofValid(secret, "dial", facts, new Uint8Array())).toBe(false);
    expect(proofValid(secret, "dial", facts, new Uint8Array(32))).toBe(false);
  });

  it("certServerId() reads the id from subject CN server.<id> only", () => {
    const cert = (CN: unknown) => ({ subject: { CN } }) as never;
    expect(certServerId(cert("server.3"))).toBe(3);
    expect(certServerId(cert("server.3x"))).toBeUndefined();
    expect(certServerId(cert("keeper"))).toBeUndefined();
    expect(certServerId(undefined)).toBeUndefined();
  });
});

interface TestNode {
  net: PeerNetwork;
  ups: ServerId[];
  downs: ServerId[];
  received: PeerMessage[];
}

describe("PeerNetwork authentication", () => {
  const nets: PeerNetwork[] = [];
  afterEach(async () => {
    await Promise.all(nets.splice(0).map((n) => n.close()));
  });

  async function node(id: number, spec: string, auth: PeerAuth = TEST_PEER_AUTH, silenceMsMax = 1000): Promise<TestNode> {
    const t: TestNode = { net: undefined as never, ups: [], downs: [], received: [] };
    const members = parsePeers(spec);
    t.net = new PeerNetwork(asServerId(id), members, canonicalPeers(members), { up: (p) => t.ups.push(p), down: (p) => t.downs.push(p), message: (_f, m) => t.received.push(m) }, silent, { auth, silenceMsMax });
    nets.push(t.net);
    await t.net.listen("127.0.0.1", members.find((m) => m.id === id)!.port);
    return t;
  }

  async function spec2(): Promise<string> {
    return `1=127.0.0.1:${await freePort()},2=127.0.0.1:${await freePort()}`;
  }

  it("members holding the same secret link up; a member with another secret is refused both ways", async () => {
    const spec = `1=127.0.0.1:${await freePort()},2=127.0.0.1:${await freePort()},3=127.0.0.1:${await freePort()}`;
    const a = await node(1, spec);
    const b = await node(2, spec);
    const rogue = await node(3, spec, { secret: Buffer.from("not-the-ensemble-secret") });
    await vi.waitFor(() => expect(a.ups).toEqual([2]), { timeout: 5000 });
    await vi.waitFor(() => expect(rogue.net.refusals.get(asServerId(1))).toMatch(/could not prove it holds the ensemble's peer secret/), { timeout: 5000 });
    await vi.waitFor(() => expect(b.ups).toEqual([1]), { timeout: 5000 });
    expect(a.ups).toEqual([2]);
    expect(rogue.ups).toEqual([]);
  });

  it("a stranger's hello gets a challenge; without the proof (or with a replayed one) it is refused, and a forward before it is refused", async () => {
    const spec = await spec2();
    const a = await node(1, spec);
    const port = parsePeers(spec)[0]!.port;
    // A recorded handshake: a proof that was valid for an acceptor nonce of the past.
    const dialerNonce = new Uint8Array(32).fill(7);
    const stale = proofOf(TEST_PEER_AUTH.secret, "dial", { peers: canonicalPeers(parsePeers(spec)), dialer: 2, acceptor: 1, dialerNonce, acceptorNonce: newNonce() });
    const replay = await rogueExchange("127.0.0.1", port, [helloFrame(2, canonicalPeers(parsePeers(spec)), dialerNonce), encodePeerFrame({ kind: "proof", proof: stale })]);
    expect(replay.received).toEqual(["hello", "refusal: server 2 could not prove it holds the ensemble's peer secret"]);
    const forged = await rogueExchange("127.0.0.1", port, [encodePeerFrame({ kind: "message", msg: { type: "commit", epoch: 9, zxid: makeZxid(9, 1) } })]);
    expect(forged.received).toEqual(["refusal: hello expected"]);
    expect(a.ups).toEqual([]);
    expect(a.received).toEqual([]);
  });

  it("a frame above 4 KiB before the proof ends the connection (1009) unread; a hello with a long list still fits", async () => {
    const spec = await spec2();
    const a = await node(1, spec);
    const port = parsePeers(spec)[0]!.port;
    const big = await rogueExchange("127.0.0.1", port, [helloFrame(2, "x".repeat(5 * 1024))]);
    expect(big).toEqual({ received: [], closeCode: 1009 });
    const fits = await rogueExchange("127.0.0.1", port, [helloFrame(2, "x".repeat(3 * 1024))]);
    expect(fits.received[0]).toMatch(/peer lists differ/);
    expect(a.ups).toEqual([]);
  });

  it("a forged or duplicate hello for a live member leaves its link alone; a member that restarts is back", async () => {
    const spec = await spec2();
    const peers = canonicalPeers(parsePeers(spec));
    const port = parsePeers(spec)[0]!.port;
    const a = await node(1, spec);
    let b = await node(2, spec);
    await vi.waitFor(() => expect(a.ups).toEqual([2]), { timeout: 5000 });
    // A stranger claiming server 2, many times over.
    const forged = await Promise.all(Array.from({ length: 5 }, () => rogueExchange("127.0.0.1", port, [helloFrame(2, peers), encodePeerFrame({ kind: "proof", proof: new Uint8Array(32) })])));
    for (const f of forged) expect(f.received.at(-1)).toMatch(/could not prove/);
    // A second process with server 2's credentials (a misconfigured twin): refused, not swapped in.
    const twin = await rogueTwin(spec, port);
    expect(twin).toMatch(/already has a live link/);
    a.net.send(asServerId(2), { type: "commit", epoch: 1, zxid: makeZxid(1, 1) });
    await vi.waitFor(() => expect(b.received).toHaveLength(1), { timeout: 5000 });
    expect(a.downs).toEqual([]);
    expect(b.downs).toEqual([]);
    // Server 2 restarts: its old link dies with it and the new one is let in.
    await b.net.close();
    nets.splice(nets.indexOf(b.net), 1);
    b = await node(2, spec);
    await vi.waitFor(() => expect(b.ups).toEqual([1]), { timeout: 5000 });
    expect(a.ups).toEqual([2, 2]);
  });

  /** A real PeerNetwork for server 2 at another port, holding the secret, dialling server 1. */
  async function rogueTwin(spec: string, port1: number): Promise<string | undefined> {
    const twinSpec = spec.replace(/2=127\.0\.0\.1:\d+/, `2=127.0.0.1:${await freePort()}`);
    const members = parsePeers(twinSpec);
    // Same peer list as the ensemble's in its hello, so only the live-link rule can refuse it.
    const net = new PeerNetwork(asServerId(2), members.map((m) => (m.id === 1 ? { ...m, port: port1 } : m)), canonicalPeers(parsePeers(spec)), { up: () => {}, down: () => {}, message: () => {} }, silent, { auth: TEST_PEER_AUTH });
    nets.push(net);
    await net.listen("127.0.0.1", members.find((m) => m.id === 2)!.port);
    await vi.waitFor(() => expect(net.refusals.get(asServerId(1))).toBeDefined(), { timeout: 5000 });
    return net.refusals.get(asServerId(1));
  }

  describe("with mutual TLS", () => {
    const dir = mkdtempSync(join(tmpdir(), "keeper-peer-tls-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    /** A CA, and a key and certificate with subject CN `cn` signed by it. */
    const ca = (name: string) => ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-subj", `/CN=${name}`, "-days", "2");
    const cert = (cn: string, caName: string, file = cn) => {
      ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${file}.key`, "-out", `${file}.csr`, "-subj", `/CN=${cn}`);
      ossl("x509", "-req", "-in", `${file}.csr`, "-CA", `${caName}.pem`, "-CAkey", `${caName}.key`, "-CAcreateserial", "-out", `${file}.pem`, "-days", "2");
    };
    const tls = (file: string, caName = "ensemble-ca"): PeerAuth => ({ tls: { key: readFileSync(join(dir, `${file}.key`)), cert: readFileSync(join(dir, `${file}.pem`)), ca: readFileSync(join(dir, `${caName}.pem`)) } });
    ca("ensemble-ca");
    ca("other-ca");
    cert("server.1", "ensemble-ca");
    cert("server.2", "ensemble-ca");
    cert("server.3", "ensemble-ca");
    cert("server.2", "other-ca", "foreign-2");

    it("members with certificates for their own ids link up", async () => {
      const spec = await spec2();
      const a = await node(1, spec, tls("server.1"));
      const b = await node(2, spec, tls("server.2"));
      await vi.waitFor(() => expect(a.ups).toEqual([2]), { timeout: 5000 });
      await vi.waitFor(() => expect(b.ups).toEqual([1]), { timeout: 5000 });
    });

    it.each([
      ["server 3's certificate claiming server 2", "server.3", /TLS certificate is for server 3, not server 2/],
      ["a certificate from another CA", "foreign-2", undefined],
    ])("a peer with %s is refused", async (_what, file, reason) => {
      const spec = await spec2();
      const a = await node(1, spec, tls("server.1"));
      const b = await node(2, spec, file === "foreign-2" ? tls(file, "ensemble-ca") : tls(file));
      await new Promise((r) => setTimeout(r, 1500));
      expect(a.ups).toEqual([]);
      expect(b.ups).toEqual([]);
      if (reason) expect([...a.net.refusals.values()].join(" ")).toMatch(reason);
    });
  });
});
