// /status and the four-letter words read the tree's counters (ephemerals, approximate data size)
// and the event-loop monitor; the numbers must be the tree's, through a real server.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, CreateMode, OPEN_ACL_UNSAFE, type Request } from "@keeper/protocol";
import { startServer, type RunningServer } from "../src/index.ts";
import { RawClient } from "./raw-client.ts";
import { tempDir } from "./temp-dir.ts";

const enc = new TextEncoder();
const create = (path: string, data: string, mode: CreateMode = CreateMode.PERSISTENT): Request => ({ type: "create", path, data: enc.encode(data), acl: [...OPEN_ACL_UNSAFE], mode, ttlMs: 0 });

function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const s = connect(port, "127.0.0.1", () => s.end(word));
    s.on("data", (d) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
  });
}

const mntr = async (port: number) => Object.fromEntries((await fourLetterWord(port, "mntr")).trim().split("\n").map((l) => l.split("\t")));

describe("status counters through a server", () => {
  const dir = tempDir();
  let server: RunningServer;
  let c: RawClient;
  let xid = 0;
  const call = async (request: Request) => {
    const x = ++xid;
    c.send({ kind: "request", xid: x, request });
    return c.response(x, 5000);
  };

  beforeAll(async () => {
    server = await startServer({ zkPort: 0, serverId: 1, dataDir: dir.path, host: "127.0.0.1", clientPort: 0, logLevel: "silent", fourLetterWords: "*" });
    c = await RawClient.open(server.port);
    c.connect({ timeoutMs: 5000 });
    await c.connected();
  });
  afterAll(async () => {
    c.close();
    await server.close();
    dir.cleanup();
  });

  it("mntr and /status count ephemerals and path plus data bytes as the tree changes", async () => {
    const before = server.status() as { approximateDataSize: number; ephemerals: number; nodes: number };
    expect((await call(create("/s", ""))).err).toBe(Code.OK);
    expect((await call(create("/s/a", "xyz"))).err).toBe(Code.OK);
    expect((await call(create("/s/e", "12345", CreateMode.EPHEMERAL))).err).toBe(Code.OK);
    const after = server.status() as typeof before;
    expect(after.ephemerals - before.ephemerals).toBe(1);
    expect(after.approximateDataSize - before.approximateDataSize).toBe("/s".length + "/s/a".length + 3 + "/s/e".length + 5);
    const m = await mntr(server.zkPort!);
    expect(Number(m.zk_ephemerals_count)).toBe(after.ephemerals);
    expect(Number(m.zk_approximate_data_size)).toBe(after.approximateDataSize);
    expect(Number(m.zk_znode_count)).toBe(after.nodes);
    const n = await call({ type: "getAllChildrenNumber", path: "/" });
    expect(n.result).toEqual({ type: "getAllChildrenNumber", count: after.nodes - 1 });
    expect((await call({ type: "setData", path: "/s/a", data: enc.encode("x"), version: -1 })).err).toBe(Code.OK);
    expect((server.status() as typeof before).approximateDataSize).toBe(after.approximateDataSize - 2);
  });

  it("/status reports the event loop's delay percentiles", async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/status`);
    const status = (await res.json()) as { eventLoop: Record<string, unknown> };
    expect(status.eventLoop).toMatchObject({ windowMs: 10_000, stallWarnMs: 200, stalls: expect.any(Number) });
    for (const k of ["p50Ms", "p99Ms", "maxMs"]) expect(status.eventLoop[k]).toBeTypeOf("number");
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(metrics).toMatch(/^keeper_event_loop_p99_ms \d/m);
  });
});
