import { Code, EventType, KeeperError, type Request } from "@keeper/protocol";
import { describe, expect, it, vi } from "vitest";
import { MultiError } from "../src/index.ts";
import { WebSocket } from "ws";
import { connectTo, startServer, stateReached, text } from "./helpers.ts";

describe("KeeperClient requests", () => {
  it("connect() sends a connect frame for a new session and reports the negotiated values", async () => {
    const server = await startServer();
    const client = await connectTo(server.address, { sessionTimeoutMs: 900, canBeReadOnly: true });
    const conn = await server.connection(0);
    expect(conn.frames[0]).toMatchObject({ kind: "connect", protocolVersion: 1, sessionId: 0, timeoutMs: 900, lastZxidSeen: 0, canBeReadOnly: true });
    expect(client.state).toBe("connected");
    expect(client.sessionId).toBe(conn.sessionId);
    expect(client.negotiatedTimeoutMs).toBe(900);
  });

  it("create, getData, setData, getChildren, delete round-trip", async () => {
    const client = await connectTo((await startServer()).address);
    expect(await client.create("/a", "hello")).toBe("/a");
    const { data, stat } = await client.getData("/a");
    expect(text(data)).toBe("hello");
    expect(stat.version).toBe(0);
    expect((await client.setData("/a", new Uint8Array([1, 2]), 0)).version).toBe(1);
    expect(await client.create("/a/s-", undefined, { sequential: true })).toBe("/a/s-0000000000");
    const withStat = await client.createWithStat("/a/t");
    expect(withStat.path).toBe("/a/t");
    expect((await client.getChildren("/a")).children).toEqual(["s-0000000000", "t"]);
    await client.delete("/a/t");
    expect(await client.exists("/a/t")).toBeNull();
    expect(client.lastZxid).toBeGreaterThan(0);
  });

  it("turns error codes into KeeperError with the code and the client path", async () => {
    const client = await connectTo((await startServer()).address);
    await expect(client.getData("/missing")).rejects.toMatchObject({ code: Code.NONODE, path: "/missing" });
    await client.create("/a");
    await expect(client.create("/a")).rejects.toBeInstanceOf(KeeperError);
    await expect(client.setData("/a", "x", 5)).rejects.toMatchObject({ code: Code.BADVERSION });
  });

  it("rejects invalid paths client-side with BADARGUMENTS, sending nothing", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    await expect(client.getData("no-slash")).rejects.toMatchObject({ code: Code.BADARGUMENTS });
    await expect(client.create("/a/", "")).rejects.toMatchObject({ code: Code.BADARGUMENTS });
    expect((await server.connection(0)).requests).toHaveLength(0);
  });

  it("applies the chroot to sent paths and strips it from results and events", async () => {
    const server = await startServer();
    const root = await connectTo(server.address);
    await root.create("/app");
    const client = await connectTo(`${server.address}/app`);
    expect(await client.create("/x-", "", { sequential: true })).toBe("/x-0000000000");
    const watcher = vi.fn();
    await client.exists("/x-0000000000", { watch: watcher });
    expect((await client.getData("/")).stat.numChildren).toBe(1);
    const sent = (await server.connection(1)).requests.map((r) => (r.request as { path?: string }).path);
    expect(sent).toEqual(["/app/x-", "/app/x-0000000000", "/app"]);
    await root.setData("/app/x-0000000000", "v");
    await vi.waitFor(() => expect(watcher).toHaveBeenCalledWith({ type: EventType.NodeDataChanged, state: 3, path: "/x-0000000000" }));
  });

  it("exists() returns null on NONODE and the stat otherwise", async () => {
    const client = await connectTo((await startServer()).address);
    expect(await client.exists("/nope")).toBeNull();
    await client.create("/yes");
    expect(await client.exists("/yes")).toMatchObject({ version: 0, numChildren: 0 });
  });

  it("matches responses to requests by xid, whatever order they come in", async () => {
    const server = await startServer();
    const held: Array<[number, Request]> = [];
    server.onRequest = (_c, xid, req) => (req.type === "getData" ? (held.push([xid, req]), "hold") : "auto");
    const client = await connectTo(server.address);
    await client.create("/a", "A");
    await client.create("/b", "B");
    const a = client.getData("/a");
    const b = client.getData("/b");
    const conn = await server.connection(0);
    await vi.waitFor(() => expect(held).toHaveLength(2));
    for (const [xid, req] of held.reverse()) server.answer(conn, xid, req);
    expect(text((await a).data)).toBe("A");
    expect(text((await b).data)).toBe("B");
  });

  it("getACL and setACL go through", async () => {
    const client = await connectTo((await startServer()).address);
    await client.create("/a", "", { acl: [{ perms: 1, scheme: "world", id: "anyone" }] });
    expect((await client.getACL("/a")).acl).toEqual([{ perms: 1, scheme: "world", id: "anyone" }]);
    await client.setACL("/a", [{ perms: 31, scheme: "world", id: "anyone" }]);
    expect((await client.getACL("/a")).acl[0]?.perms).toBe(31);
    await client.sync("/a");
  });
});

describe("KeeperClient.multi and transaction()", () => {
  it("commits all ops and returns their results", async () => {
    const client = await connectTo((await startServer()).address);
    const results = await client.transaction().create("/t").create("/t/s-", "x", { sequential: true }).setData("/t", "d").check("/t", 1).commit();
    expect(results.map((r) => r.type)).toEqual(["create", "create", "setData", "check"]);
    expect(results[1]).toMatchObject({ type: "create", path: "/t/s-0000000000" });
  });

  it("throws MultiError with the failing op's code and per-op results", async () => {
    const client = await connectTo((await startServer()).address);
    await client.create("/t");
    const err = await client.transaction().create("/t/a").check("/t", 7).delete("/t").commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultiError);
    expect(err).toBeInstanceOf(KeeperError);
    expect(err).toMatchObject({ code: Code.BADVERSION, failedIndex: 1 });
    expect((err as MultiError).results).toEqual([
      { type: "error", err: Code.OK },
      { type: "error", err: Code.BADVERSION },
      { type: "error", err: Code.RUNTIMEINCONSISTENCY },
    ]);
    expect(await client.exists("/t/a")).toBeNull();
  });

  it("reports a builder argument error from commit()", async () => {
    const client = await connectTo((await startServer()).address);
    await expect(client.transaction().check("/a", -5).create("/b").commit()).rejects.toMatchObject({ code: Code.BADARGUMENTS });
  });
});

describe("KeeperClient timeouts and aborts", () => {
  it("rejects with OPERATIONTIMEOUT and ignores the late response", async () => {
    const server = await startServer();
    let heldXid = -1;
    server.onRequest = (_c, xid, req) => (req.type === "sync" ? ((heldXid = xid), "hold") : "auto");
    const client = await connectTo(server.address);
    await expect(client.sync("/", { timeoutMs: 30 })).rejects.toMatchObject({ code: Code.OPERATIONTIMEOUT });
    server.answer(await server.connection(0), heldXid, { type: "sync", path: "/" });
    expect(await client.exists("/")).not.toBeNull();
  });

  it("uses requestTimeoutMs as the default per-call timeout", async () => {
    const server = await startServer();
    server.onRequest = (_c, _x, req) => (req.type === "sync" ? "hold" : "auto");
    const client = await connectTo(server.address, { requestTimeoutMs: 20 });
    await expect(client.sync("/")).rejects.toMatchObject({ code: Code.OPERATIONTIMEOUT });
  });

  it("rejects with the signal's reason on abort, before or after sending", async () => {
    const server = await startServer();
    server.onRequest = (_c, _x, req) => (req.type === "sync" ? "hold" : "auto");
    const client = await connectTo(server.address);
    const pre = new AbortController();
    pre.abort(new Error("already"));
    await expect(client.sync("/", { signal: pre.signal })).rejects.toThrow("already");
    const ctl = new AbortController();
    const p = client.sync("/", { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("KeeperClient.close()", () => {
  it("sends closeSession, waits for the reply, ends in state closed, and is idempotent", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    const states: string[] = [];
    client.on("state", (s) => states.push(s));
    const first = client.close();
    const second = client.close();
    expect(second).toBe(first);
    await first;
    expect(client.state).toBe("closed");
    expect(states).toEqual(["closed"]);
    expect((await server.connection(0)).requests.map((r) => r.request.type)).toEqual(["closeSession"]);
    await expect(client.getData("/")).rejects.toMatchObject({ code: Code.CONNECTIONLOSS });
  });

  it("does not wait forever for a server that never answers closeSession", async () => {
    const server = await startServer();
    server.onRequest = () => "hold";
    const client = await connectTo(server.address, { sessionTimeoutMs: 300 });
    const started = Date.now();
    await client.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(client.state).toBe("closed");
  });
});

describe("KeeperClient transport", () => {
  it("uses the WebSocket constructor given in the options", async () => {
    const server = await startServer();
    const urls: string[] = [];
    class CountingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        urls.push(url);
      }
    }
    await connectTo(server.address, { WebSocket: CountingWebSocket });
    expect(urls).toEqual([`ws://${server.address}/`]);
  });

  it("drops a connection that sends an unreadable frame and reconnects", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    (await server.connection(0)).socket.send(new Uint8Array([0xff, 0xff, 0xff]));
    await server.connection(1);
    await stateReached(client, "connected");
    expect(await client.exists("/")).not.toBeNull();
  });
});
