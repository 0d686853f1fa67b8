import { describe, expect, it } from "vitest";
import { limits } from "@keeper/protocol";
import { ConfigError, bindHosts, canonicalPeers, parsePeers, resolveServerConfig } from "../src/config.ts";

describe("resolveServerConfig()", () => {
  it.each([
    [{ serverId: 4, peers: "1=a:2888,2=b:2888,3=c:2888" }, /serverId 4 is not in the peer list/],
    [{ serverId: 1, peers: "1=a:8181,2=b:2888", clientPort: 8181 }, /clientPort and peerPort are both 8181/],
    [{ serverId: 1, peers: "1=a:1,1=b:2" }, /server 1 is listed twice/],
    [{ serverId: 1, peers: "1=a:1,2=a:1" }, /a:1 is given to two servers/],
    [{ serverId: 1, peers: "1=a" }, /not id=host:port/],
    [{ serverId: 1, peers: "300=a:1" }, /id 300 must be in 1..255/],
    [{ minSessionTimeoutMs: 5000, maxSessionTimeoutMs: 1000 }, /must not exceed maxSessionTimeoutMs/],
    [{ tickMs: 100, minSessionTimeoutMs: 150 }, /at least two ticks/],
    [{ logLevel: "loud" }, /logLevel must be one of/],
    [{ replyBytesMax: 100_000, dataBytesMax: 100_000 }, /replyBytesMax \(100000\) must be at least dataBytesMax \+ 1024/],
    [{ globalOutstandingMax: 0 }, /globalOutstandingMax must be an integer in 1\.\.1000000/],
    [{ serverId: 1, peers: "1=a:1,2=b:1" }, /an ensemble's peer port needs authentication/],
    [{ serverId: 1, peers: "1=a:1,2=b:1", peerSecret: "short" }, /peerSecret must be at least 16 characters/],
    [{ serverId: 1, peers: "1=a:1,2=b:1", peerSecret: "0123456789abcdef", peerSecretFile: "/s" }, /both set: give one/],
    [{ serverId: 1, peers: "1=a:1,2=b:1", peerTlsCert: "/c.pem", peerTlsKey: "/k.pem" }, /all three or none/],
    [{ superDigest: "super:secret" }, /superDigest must be "super:<base64 sha1/],
    [{ clientTlsCa: "/ca.pem" }, /clientTlsCa needs clientTlsCert and clientTlsKey/],
  ] as const)("rejects %j with a message naming the problem", (partial, message) => {
    expect(() => resolveServerConfig(partial as never)).toThrow(ConfigError);
    expect(() => resolveServerConfig(partial as never)).toThrow(message);
  });

  it("accepts an ensemble authenticated by a secret, a secret file or TLS, and ZooKeeper's superDigest", () => {
    const peers = "1=a:1,2=b:1,3=c:1";
    expect(resolveServerConfig({ peers, peerSecret: "0123456789abcdef" }).peerSecret).toBe("0123456789abcdef");
    expect(resolveServerConfig({ peers, peerSecretFile: "/run/secrets/peer_secret" }).peerSecretFile).toBe("/run/secrets/peer_secret");
    expect(resolveServerConfig({ peers, peerTlsCert: "/c", peerTlsKey: "/k", peerTlsCa: "/ca" }).peerTlsCa).toBe("/ca");
    expect(resolveServerConfig({ superDigest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" }).superDigest).toBe("super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
  });

  it("bindHosts() binds to the node's own address in the peer list, loopback when standalone, and as told otherwise", () => {
    const peers = "1=10.0.0.1:2888,2=[::1]:2889";
    expect(bindHosts(resolveServerConfig({ peers, peerSecret: "0123456789abcdef" }))).toEqual({ host: "10.0.0.1", peerHost: "10.0.0.1" });
    expect(bindHosts(resolveServerConfig({ serverId: 2, clientPort: 9000, peers, peerSecret: "0123456789abcdef" }))).toEqual({ host: "::1", peerHost: "::1" });
    expect(bindHosts(resolveServerConfig({}))).toEqual({ host: "127.0.0.1", peerHost: "127.0.0.1" });
    expect(bindHosts(resolveServerConfig({ host: "0.0.0.0", peerHost: "0.0.0.0", peers, peerSecret: "0123456789abcdef" }))).toEqual({ host: "0.0.0.0", peerHost: "0.0.0.0" });
  });

  it("accepts a standalone node with defaults from the ports table", () => {
    const c = resolveServerConfig({ serverId: 3 });
    expect(c.clientPort).toBe(8183);
    expect(c.peers).toBe("");
  });

  it("replyBytesMax defaults to the frame limit, follows a raised data limit, and may be set below it", () => {
    expect(resolveServerConfig({}).replyBytesMax).toBe(limits.frameBytesMax);
    expect(resolveServerConfig({ dataBytesMax: 4 * 1024 * 1024 }).replyBytesMax).toBe(4 * 1024 * 1024 + 64 * 1024);
    expect(resolveServerConfig({ dataBytesMax: 8192, replyBytesMax: 65536 }).replyBytesMax).toBe(65536);
    expect(resolveServerConfig({}).globalOutstandingMax).toBe(1000);
  });

  it("parsePeers() sorts by id and canonicalPeers() gives one spelling for equal lists", () => {
    const a = canonicalPeers(parsePeers("3=h3:2890, 1=h1:2888,2=h2:2889"));
    const b = canonicalPeers(parsePeers("1=h1:2888,2=h2:2889,3=h3:2890"));
    expect(a).toBe(b);
    expect(a).toBe("1=h1:2888,2=h2:2889,3=h3:2890");
  });
});
