import { asZxid, Code, EventType, KeeperState } from "@keeper/protocol";
import { describe, expect, it, vi } from "vitest";
import { connectTo, startServer } from "./helpers.ts";

describe("KeeperClient watches", () => {
  it("fires a getData watch once, on the next change only", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    const other = await connectTo(server.address);
    await client.create("/a", "1");
    const watcher = vi.fn();
    await client.getData("/a", { watch: watcher });
    await other.setData("/a", "2");
    await other.setData("/a", "3");
    await client.sync("/");
    expect(watcher).toHaveBeenCalledTimes(1);
    expect(watcher).toHaveBeenCalledWith({ type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: "/a" });
  });

  it("registers exists() on a missing node as an exist watch that fires on creation", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    const watcher = vi.fn();
    expect(await client.exists("/later", { watch: watcher })).toBeNull();
    await client.create("/later");
    expect(watcher).toHaveBeenCalledWith(expect.objectContaining({ type: EventType.NodeCreated, path: "/later" }));
  });

  it("fires child watches on child changes and on deletion of the parent", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    await client.create("/p");
    const children = vi.fn();
    const data = vi.fn();
    await client.getChildren("/p", { watch: children });
    await client.getData("/p", { watch: data });
    await client.create("/p/c");
    expect(children).toHaveBeenLastCalledWith(expect.objectContaining({ type: EventType.NodeChildrenChanged, path: "/p" }));
    expect(data).not.toHaveBeenCalled();
    await client.getChildren("/p", { watch: children });
    await client.delete("/p/c");
    await client.delete("/p");
    expect(children).toHaveBeenCalledTimes(2);
    expect(data).toHaveBeenCalledWith(expect.objectContaining({ type: EventType.NodeDeleted, path: "/p" }));
  });

  it("does not register a watch when the read fails", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    const watcher = vi.fn();
    await expect(client.getData("/none", { watch: watcher })).rejects.toMatchObject({ code: Code.NONODE });
    const conn = await server.connection(0);
    conn.send({ kind: "event", type: EventType.NodeCreated, state: 3, path: "/none", zxid: asZxid(0) });
    await client.sync("/");
    expect(watcher).not.toHaveBeenCalled();
  });

  it("survives a watcher that throws", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    await client.create("/a");
    const next = vi.fn();
    await client.getData("/a", { watch: () => { throw new Error("watcher bug"); } });
    await client.exists("/a", { watch: next });
    await client.setData("/a", "x");
    expect(next).toHaveBeenCalledTimes(1);
    expect(await client.exists("/a")).not.toBeNull();
  });

  it("dispatches an event that arrives before a response before that response resolves", async () => {
    const server = await startServer();
    server.onRequest = (_c, _x, req) => (req.type === "sync" ? "hold" : "auto");
    const client = await connectTo(server.address);
    await client.create("/a");
    const order: string[] = [];
    await client.getData("/a", { watch: () => order.push("event") });
    const sync = client.sync("/a").then(() => order.push("response"));
    const conn = await server.connection(0);
    const frame = await conn.waitFor((f) => f.kind === "request" && f.request.type === "sync");
    const xid = frame.kind === "request" ? frame.xid : -1;
    // Both frames go out back to back, so the client may read them in one turn of its loop.
    conn.send({ kind: "event", type: EventType.NodeDataChanged, state: 3, path: "/a", zxid: asZxid(99) });
    conn.send({ kind: "response", xid, zxid: asZxid(99), err: Code.OK, result: { type: "sync", path: "/a" } });
    await sync;
    expect(order).toEqual(["event", "response"]);
    expect(client.lastZxid).toBe(99);
  });

  it("fires the watch set by its own write before the write's promise resolves", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    await client.create("/a");
    const watcher = vi.fn();
    await client.exists("/a", { watch: watcher });
    const write = client.setData("/a", "v").then(() => watcher.mock.calls.length);
    expect(await write).toBe(1);
  });
});
