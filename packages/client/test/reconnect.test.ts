import { asZxid, Code, EventType, type ClientMessage } from "@keeper/protocol";
import { describe, expect, it, vi } from "vitest";
import { connect } from "../src/index.ts";
import type { FakeConn } from "./fake-server.ts";
import { FakeTree } from "./fake-tree.ts";
import { connectTo, keepOrder, startServer, stateReached } from "./helpers.ts";

const kinds = (conn: FakeConn): string[] => conn.frames.map((f: ClientMessage) => (f.kind === "request" ? f.request.type : f.kind));

describe("KeeperClient reconnect", () => {
  it("rejects in-flight requests with CONNECTIONLOSS, resumes the session on the next host, re-arms watches, then sends the queue", async () => {
    const tree = new FakeTree();
    const s1 = await startServer(tree);
    const s2 = await startServer(tree);
    s1.onRequest = (_c, _x, req) => (req.type === "sync" ? "hold" : "auto");
    const client = await connectTo(`${s1.address},${s2.address}`);
    await client.create("/w", "1");
    const watcher = vi.fn();
    await client.getData("/w", { watch: watcher });
    const seen = client.lastZxid;
    const inFlight = client.sync("/w");
    const c1 = await s1.connection(0);
    await c1.waitFor((f) => f.kind === "request" && f.request.type === "sync");

    const states: string[] = [];
    let queued: Promise<unknown> | undefined;
    client.on("state", (s) => {
      states.push(s);
      // Issued while disconnected: must wait in the queue and go out after setWatches.
      if (s === "disconnected") queued = client.exists("/w");
    });
    c1.drop();
    // Changed while the client is away: setWatches must make the server fire it.
    tree.handle(c1, { type: "setData", path: "/w", data: new Uint8Array([2]), version: -1 });

    await expect(inFlight).rejects.toMatchObject({ code: Code.CONNECTIONLOSS });
    await stateReached(client, "connected");
    expect(await queued).toMatchObject({ version: 1 });
    const c2 = await s2.connection(0);
    expect(c2.frames[0]).toMatchObject({ kind: "connect", sessionId: client.sessionId, password: client.sessionPassword, lastZxidSeen: seen });
    expect(c2.frames[1]).toMatchObject({ kind: "request", request: { type: "setWatches", relativeZxid: seen, dataWatches: ["/w"], existWatches: [], childWatches: [] } });
    expect(kinds(c2).slice(0, 3)).toEqual(["connect", "setWatches", "exists"]);
    expect(states).toEqual(["disconnected", "connected"]);
    expect(watcher).toHaveBeenCalledWith(expect.objectContaining({ type: EventType.NodeDataChanged, path: "/w" }));
  });

  it("moves on when a server refuses with a code other than SESSIONEXPIRED", async () => {
    const tree = new FakeTree();
    const s1 = await startServer(tree);
    const s2 = await startServer(tree);
    s1.onConnect = () => ({ kind: "close", code: Code.CONNECTIONLOSS, reason: "behind" });
    const client = await connectTo(`${s1.address},${s2.address}`);
    expect(client.state).toBe("connected");
    expect(s2.conns).toHaveLength(1);
  });

  it("sends pings when idle and reconnects when nothing comes back", async () => {
    const server = await startServer();
    const client = await connectTo(server.address, { sessionTimeoutMs: 300 });
    const c1 = await server.connection(0);
    await c1.waitFor((f) => f.kind === "request" && f.request.type === "ping");
    server.onRequest = () => "hold";
    const c2 = await server.connection(1);
    expect(await c2.waitFor((f) => f.kind === "connect")).toMatchObject({ kind: "connect", sessionId: client.sessionId });
    expect(client.lastDisconnectReason).toMatch(/nothing received/);
  });
});

describe("KeeperClient expiry", () => {
  it("goes to expired when the server refuses the resumed session, and rejects calls with SESSIONEXPIRED", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    const c1 = await server.connection(0);
    server.tree.sessions.delete(client.sessionId);
    let queued: Promise<unknown> | undefined;
    client.on("state", (s) => {
      if (s === "disconnected") queued = client.exists("/");
    });
    c1.drop();
    await stateReached(client, "expired");
    await expect(queued).rejects.toMatchObject({ code: Code.CONNECTIONLOSS });
    await expect(client.getData("/")).rejects.toMatchObject({ code: Code.SESSIONEXPIRED });
    // Expired is final: no further connection attempts.
    await new Promise((r) => setTimeout(r, 50));
    expect(server.conns).toHaveLength(2);
  });

  it("goes to expired on a SESSIONEXPIRED close notice on a live connection", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    (await server.connection(0)).refuse(Code.SESSIONEXPIRED, "expired by the leader");
    await stateReached(client, "expired");
    expect(client.lastDisconnectReason).toMatch(/expired by the leader/);
  });

  it("expires by itself once the session timeout passes with no server reachable", async () => {
    const server = await startServer();
    const client = await connectTo(server.address, { sessionTimeoutMs: 250 });
    await server.close();
    await stateReached(client, "disconnected");
    const started = Date.now();
    await stateReached(client, "expired");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("connect() rejects with SESSIONEXPIRED when resuming an unknown session", async () => {
    const server = await startServer();
    const failure = connect(server.address, { sessionId: 0x777, sessionPassword: new Uint8Array([1]), sessionTimeoutMs: 500 });
    await expect(failure).rejects.toMatchObject({ code: Code.SESSIONEXPIRED });
    const conn = await server.connection(0);
    expect(await conn.waitFor((f) => f.kind === "connect")).toMatchObject({ kind: "connect", sessionId: 0x777, password: new Uint8Array([1]) });
  });

  it("connect() resumes a known session with its id and password", async () => {
    const server = await startServer();
    const first = await connectTo(server.address);
    const second = await connectTo(server.address, { sessionId: first.sessionId, sessionPassword: first.sessionPassword });
    expect(second.sessionId).toBe(first.sessionId);
  });
});

describe("connect() failures", () => {
  it("rejects with CONNECTIONLOSS after connectTimeoutMs when no server answers", async () => {
    const server = await startServer();
    server.onConnect = () => "ignore";
    const started = Date.now();
    await expect(connect(server.address, { connectTimeoutMs: 150, random: keepOrder })).rejects.toMatchObject({ code: Code.CONNECTIONLOSS });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("rejects a bad connect string with BADARGUMENTS", async () => {
    await expect(connect("host:99999")).rejects.toMatchObject({ code: Code.BADARGUMENTS });
  });
});

describe("KeeperClient read-only mode", () => {
  it("skips a read-only server unless canBeReadOnly", async () => {
    const tree = new FakeTree();
    const ro = await startServer(tree);
    ro.readOnly = true;
    const rw = await startServer(tree);
    const client = await connectTo(`${ro.address},${rw.address}`);
    expect(client.state).toBe("connected");
    expect(await (await ro.connection(0)).waitFor((f) => f.kind === "connect")).toMatchObject({ canBeReadOnly: false });
  });

  it("enters readOnly, serves reads, refuses writes, and switches to a read-write server found by probing", async () => {
    const tree = new FakeTree();
    const ro = await startServer(tree);
    ro.readOnly = true;
    const rw = await startServer(tree);
    rw.onConnect = (_c, msg) => (msg.canBeReadOnly ? { kind: "close", code: Code.CONNECTIONLOSS, reason: "not yet" } : "auto");
    const client = await connectTo(`${ro.address},${rw.address}`, { canBeReadOnly: true, readOnlyProbeIntervalMs: 40 });
    expect(client.state).toBe("readOnly");
    expect(await client.exists("/")).not.toBeNull();
    await expect(client.create("/x")).rejects.toMatchObject({ code: Code.NOTREADONLY });
    await stateReached(client, "connected");
    const probe = await rw.connection(0);
    // A session granted by a read-only server is local to it, so the probe asks for a new one.
    expect(probe.frames[0]).toMatchObject({ kind: "connect", sessionId: 0, canBeReadOnly: false });
    expect(client.sessionId).toBe(probe.sessionId);
    expect(await client.create("/x")).toBe("/x");
  });

  it("tracks the highest zxid from events too", async () => {
    const server = await startServer();
    const client = await connectTo(server.address);
    (await server.connection(0)).send({ kind: "event", type: EventType.NodeCreated, state: 3, path: "/q", zxid: asZxid(42) });
    await vi.waitFor(() => expect(client.lastZxid).toBe(42));
  });
});
