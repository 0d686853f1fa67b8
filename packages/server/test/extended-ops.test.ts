import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddWatchMode, Code, CreateMode, EventType, OPEN_ACL_UNSAFE, WatcherType, type Request, type ServerMessage } from "@keeper/protocol";
import { startServer, type RunningServer } from "../src/index.ts";
import { RawClient } from "./raw-client.ts";
import { tempDir } from "./temp-dir.ts";

const enc = new TextEncoder();
const create = (path: string, mode: CreateMode = CreateMode.PERSISTENT, ttlMs = 0): Request => ({ type: "create", path, data: enc.encode(path), acl: [...OPEN_ACL_UNSAFE], mode, ttlMs });

describe("ZooKeeper 3.6+ operations", () => {
  const dir = tempDir();
  let server: RunningServer;
  let c: RawClient;
  let xid = 0;

  async function call(request: Request) {
    const x = ++xid;
    c.send({ kind: "request", xid: x, request });
    return c.response(x, 5000);
  }

  async function until(cond: () => Promise<boolean>, ms = 8000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const events = () => c.messages.filter((m): m is Extract<ServerMessage, { kind: "event" }> => m.kind === "event").map((e) => `${e.type} ${e.path}`);

  beforeAll(async () => {
    server = await startServer({ zkPort: -1, serverId: 1, dataDir: dir.path, host: "127.0.0.1", clientPort: 0, logLevel: "silent", tickMs: 20, minSessionTimeoutMs: 200 });
    c = await RawClient.open(server.port);
    c.connect({ timeoutMs: 5000 });
    await c.connected();
  });
  afterAll(async () => {
    c.close();
    await server.close();
    dir.cleanup();
  });

  it("a container is reaped once it has had children and has none left", async () => {
    expect((await call(create("/box", CreateMode.CONTAINER))).err).toBe(Code.OK);
    const st = await call({ type: "exists", path: "/box", watch: false });
    // As ZooKeeper shows it: a container has no owner.
    expect(st.result?.type === "exists" && st.result.stat.ephemeralOwner).toBe(0);
    await call(create("/box/item"));
    await call({ type: "delete", path: "/box/item", version: -1 });
    await until(async () => (await call({ type: "exists", path: "/box", watch: false })).err === Code.NONODE);
  });

  it("an empty container that never had children stays", async () => {
    await call(create("/empty-box", CreateMode.CONTAINER));
    await new Promise((r) => setTimeout(r, 500));
    expect((await call({ type: "exists", path: "/empty-box", watch: false })).err).toBe(Code.OK);
  });

  it("a TTL node without children is reaped after its TTL; one with children stays", async () => {
    await call(create("/ttl", CreateMode.PERSISTENT_WITH_TTL, 100));
    await call(create("/ttl-parent", CreateMode.PERSISTENT_WITH_TTL, 100));
    await call(create("/ttl-parent/kid"));
    await until(async () => (await call({ type: "exists", path: "/ttl", watch: false })).err === Code.NONODE);
    expect((await call({ type: "exists", path: "/ttl-parent", watch: false })).err).toBe(Code.OK);
  });

  it("getAllChildrenNumber counts every descendant; getEphemerals lists this session's", async () => {
    await call(create("/count"));
    await call(create("/count/a"));
    await call(create("/count/a/b"));
    await call(create("/count/e1", CreateMode.EPHEMERAL));
    const n = await call({ type: "getAllChildrenNumber", path: "/count" });
    expect(n.result).toEqual({ type: "getAllChildrenNumber", count: 3 });
    expect((await call({ type: "getAllChildrenNumber", path: "/nope" })).err).toBe(Code.NONODE);
    const eph = await call({ type: "getEphemerals", prefix: "/count" });
    expect(eph.result).toEqual({ type: "getEphemerals", paths: ["/count/e1"] });
  });

  it("multiRead answers each op on its own", async () => {
    const r = await call({ type: "multiRead", ops: [{ type: "getData", path: "/count/a" }, { type: "getData", path: "/missing" }, { type: "getChildren", path: "/count" }] });
    expect(r.err).toBe(Code.OK);
    const results = r.result?.type === "multiRead" ? r.result.results : [];
    expect(results[0]?.type).toBe("getData");
    expect(results[1]).toEqual({ type: "error", err: Code.NONODE });
    expect(results[2]).toEqual({ type: "getChildren", children: ["a", "e1"] });
  });

  it("persistent watches stay armed; recursive ones see the subtree; removeWatches answers NOWATCHER when none", async () => {
    await call(create("/pw"));
    expect((await call({ type: "addWatch", path: "/pw", mode: AddWatchMode.PERSISTENT })).err).toBe(Code.OK);
    expect((await call({ type: "addWatch", path: "/pw", mode: AddWatchMode.PERSISTENT_RECURSIVE })).err).toBe(Code.OK);
    await call({ type: "setData", path: "/pw", data: enc.encode("1"), version: -1 });
    await call({ type: "setData", path: "/pw", data: enc.encode("2"), version: -1 });
    await call(create("/pw/deep"));
    const seen = events().filter((e) => e.includes("/pw"));
    expect(seen).toEqual([`${EventType.NodeDataChanged} /pw`, `${EventType.NodeDataChanged} /pw`, `${EventType.NodeCreated} /pw/deep`, `${EventType.NodeChildrenChanged} /pw`]);
    expect((await call({ type: "removeWatches", path: "/pw", watcherType: WatcherType.Any, checkOnly: true })).err).toBe(Code.OK);
    expect((await call({ type: "removeWatches", path: "/pw", watcherType: WatcherType.Any, checkOnly: false })).err).toBe(Code.OK);
    expect((await call({ type: "removeWatches", path: "/pw", watcherType: WatcherType.Any, checkOnly: false })).err).toBe(Code.NOWATCHER);
  });

  it("whoAmI names the client's address", async () => {
    const who = await call({ type: "whoAmI" });
    expect(who.result).toEqual({ type: "whoAmI", clientInfo: [{ authScheme: "ip", user: "127.0.0.1" }] });
  });

  it("ACLs are enforced by client address: READ-only forbids writes, a foreign address forbids reads", async () => {
    const readOnly = [{ perms: 1, scheme: "ip", id: "127.0.0.1" }];
    const foreign = [{ perms: 31, scheme: "ip", id: "10.0.0.0/8" }];
    expect((await call({ type: "create", path: "/acl-ro", data: enc.encode("x"), acl: readOnly, mode: CreateMode.PERSISTENT, ttlMs: 0 })).err).toBe(Code.OK);
    expect((await call({ type: "getData", path: "/acl-ro", watch: false })).err).toBe(Code.OK);
    expect((await call({ type: "setData", path: "/acl-ro", data: enc.encode("y"), version: -1 })).err).toBe(Code.NOAUTH);
    expect((await call({ type: "create", path: "/acl-ro/child", data: enc.encode(""), acl: [...OPEN_ACL_UNSAFE], mode: CreateMode.PERSISTENT, ttlMs: 0 })).err).toBe(Code.NOAUTH);
    expect((await call({ type: "create", path: "/acl-far", data: enc.encode("x"), acl: foreign, mode: CreateMode.PERSISTENT, ttlMs: 0 })).err).toBe(Code.OK);
    expect((await call({ type: "getData", path: "/acl-far", watch: false })).err).toBe(Code.NOAUTH);
    expect((await call({ type: "exists", path: "/acl-far", watch: false })).err).toBe(Code.OK);
    expect((await call({ type: "getACL", path: "/acl-far" })).err).toBe(Code.NOAUTH);
  });
});
