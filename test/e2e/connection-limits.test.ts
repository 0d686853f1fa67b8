// Connection limits on the client ports, with real node processes: the per-address limit
// (maxClientCnxns) shared by the ZooKeeper and native ports, the four-letter-word whitelist, and
// a node under a low open-files limit flooded with idle sockets. In every case the node keeps
// serving the clients it already has.
import { connect as netConnect, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { connect, type KeeperClient } from "@keeper/client";
import { CreateMode } from "@keeper/protocol";
import { ConnectionLimits, clientSocketsMax, openFilesLimit } from "../../packages/server/src/client/connection-limits.ts";
import { freePort, startNodeProcess, tempDir, type NodeProcess } from "../support/processes.ts";
import { ZkRawClient } from "../support/zk-raw.ts";
import { fourLetterWord } from "../support/zk-tools.ts";

const HOST = "127.0.0.1";

describe("ConnectionLimits", () => {
  it("admits up to perIpMax per address and totalMax in all, and frees slots on release", () => {
    const l = new ConnectionLimits(2, 3);
    expect(l.admit("a")).toBeUndefined();
    expect(l.admit("a")).toBeUndefined();
    expect(l.admit("a")).toMatch(/too many connections from a - max is 2/);
    expect(l.admit("b")).toBeUndefined();
    expect(l.admit("c")).toMatch(/too many client connections \(3\)/);
    l.release("a");
    expect(l.admit("c")).toBeUndefined();
    expect(l.open).toBe(3);
    expect(l.refused).toBe(2);
    expect(new ConnectionLimits(0, 10).admit("a")).toBeUndefined();
  });

  it("openFilesLimit() reads the soft limit; clientSocketsMax() keeps a reserve for the store", () => {
    expect(openFilesLimit("Limit  Soft Limit  Hard Limit  Units\nMax open files            256                  4096                 files\n")).toBe(256);
    expect(openFilesLimit("Max open files            unlimited            unlimited            files\n")).toBeUndefined();
    expect(clientSocketsMax(10_000, 256)).toBe(192);
    expect(clientSocketsMax(10_000, 100)).toBe(36);
    expect(clientSocketsMax(100, 20_000)).toBe(100);
    expect(clientSocketsMax(100, undefined)).toBe(100);
  });
});

/** Opens a raw TCP connection; resolves with the socket and whether the node hung up at once. */
function rawSocket(port: number): Promise<{ socket: Socket; closedQuickly: boolean }> {
  return new Promise((resolve) => {
    const socket = netConnect(port, HOST);
    socket.on("error", () => {});
    let closed = false;
    socket.once("close", () => (closed = true));
    socket.once("connect", () => setTimeout(() => resolve({ socket, closedQuickly: closed }), 300));
  });
}

describe("a node with maxClientCnxns 5", () => {
  const dir = tempDir("keeper-limits-");
  let node: NodeProcess;
  const open: Socket[] = [];
  const clients: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const s of open) s.destroy();
    await Promise.allSettled(clients.map((c) => c.close()));
    await node?.stop();
    dir.cleanup();
  });

  it("refuses a connection past five from one address on either port, keeps serving the ones it has, and takes one again when a slot frees", async () => {
    const zkPort = await freePort();
    node = await startNodeProcess({ dataDir: dir.path, zkPort, extraArgs: ["--clients-per-ip-max", "5"], env: { KEEPER_FOUR_LETTER_WORDS: "srvr" } });
    // One native and one ZooKeeper client, then idle sockets until the node hangs up on one.
    // (The start-up health check's keep-alive socket may still hold a slot: up to 3 fit.)
    const native = await connect(`${HOST}:${node.port}`, { sessionTimeoutMs: 10_000 });
    clients.push(native);
    const zk = await ZkRawClient.connect(HOST, zkPort);
    clients.push(zk);
    let refusedZk = false;
    for (let i = 0; i < 10 && !refusedZk; i++) {
      const r = await rawSocket(zkPort);
      if (r.closedQuickly) refusedZk = true;
      else open.push(r.socket);
    }
    expect(refusedZk).toBe(true);
    expect(open.length).toBeGreaterThanOrEqual(2);
    expect(open.length).toBeLessThanOrEqual(3);
    expect((await rawSocket(node.port)).closedQuickly, "the native port shares the budget").toBe(true);
    // The five are served.
    await native.create("/n", "v", { mode: CreateMode.PERSISTENT });
    expect((await zk.request({ type: "getData", path: "/n", watch: false })).err).toBe(0);
    // A slot freed is a slot taken.
    open.pop()!.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await rawSocket(zkPort);
    expect(again.closedQuickly).toBe(false);
    open.push(again.socket);
  }, 60_000);
});

describe("the four-letter-word whitelist", () => {
  const dir = tempDir("keeper-4lw-");
  let node: NodeProcess;
  afterAll(async () => {
    await node?.stop();
    dir.cleanup();
  });

  it("answers srvr by default and refuses the others as ZooKeeper does", async () => {
    const zkPort = await freePort();
    node = await startNodeProcess({ dataDir: dir.path, zkPort, env: { KEEPER_FOUR_LETTER_WORDS: "" } });
    expect(await fourLetterWord(zkPort, "srvr")).toMatch(/^Zookeeper version: /);
    for (const word of ["ruok", "mntr", "cons", "dump", "envi"]) expect(await fourLetterWord(zkPort, word)).toBe(`${word} is not executed because it is not in the whitelist.\n`);
  }, 60_000);
});

describe("a node under an open-files limit of 256, flooded with 400 idle sockets", () => {
  const dir = tempDir("keeper-fds-");
  let node: NodeProcess;
  const flood: Socket[] = [];
  let client: KeeperClient | undefined;
  afterAll(async () => {
    for (const s of flood) s.destroy();
    await client?.close();
    await node?.stop();
    dir.cleanup();
  });

  it("refuses what does not fit, stays up, and its existing client keeps writing", async () => {
    const zkPort = await freePort();
    node = await startNodeProcess({ dataDir: dir.path, zkPort, wrap: ["prlimit", "--nofile=256:256"], extraArgs: ["--clients-per-ip-max", "0", "--snapshot-every-txns", "50"] });
    client = await connect(`${HOST}:${node.port}`, { sessionTimeoutMs: 20_000 });
    await client.create("/before", "");
    const results = await Promise.all(Array.from({ length: 400 }, () => rawSocket(zkPort)));
    for (const r of results) flood.push(r.socket);
    const refused = results.filter((r) => r.closedQuickly).length;
    expect(refused, "sockets beyond the budget (256 less a reserve of 64) are refused").toBeGreaterThanOrEqual(400 - 192);
    // Writes need LevelDB's descriptors (and a snapshot every 50 transactions opens files).
    for (let i = 0; i < 120; i++) await client.create(`/after-${i}`, "x".repeat(100));
    expect((await client.getChildren("/")).children.length).toBeGreaterThanOrEqual(121);
    expect(node.child.exitCode).toBeNull();
    expect(node.child.signalCode).toBeNull();
  }, 90_000);
});
