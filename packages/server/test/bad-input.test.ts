import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, CreateMode, OPEN_ACL_UNSAFE, encodeClientMessage, limits } from "@keeper/protocol";
import { startServer, type RunningServer } from "../src/index.ts";
import { RawClient } from "./raw-client.ts";
import { tempDir } from "./temp-dir.ts";

const enc = new TextEncoder();

describe("server under bad input", () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let bystander: RawClient;
  let xid = 100;

  async function session(): Promise<RawClient> {
    const c = await RawClient.open(server.port);
    c.connect();
    await c.connected();
    return c;
  }

  /** The bystander still reads and writes: a bad client harmed nobody else. */
  async function bystanderStillServed(): Promise<void> {
    const x = ++xid;
    bystander.send({ kind: "request", xid: x, request: { type: "setData", path: "/stable", data: enc.encode(String(x)), version: -1 } });
    expect((await bystander.response(x)).err).toBe(Code.OK);
  }

  beforeAll(async () => {
    dir = tempDir();
    server = await startServer({ zkPort: -1, serverId: 1, dataDir: dir.path, host: "127.0.0.1", clientPort: 0, logLevel: "silent", minSessionTimeoutMs: 400 });
    bystander = await session();
    bystander.send({ kind: "request", xid: 1, request: { type: "create", path: "/stable", data: enc.encode("x"), acl: [...OPEN_ACL_UNSAFE], mode: CreateMode.PERSISTENT, ttlMs: 0 } });
    expect((await bystander.response(1)).err).toBe(Code.OK);
  });
  afterAll(async () => {
    bystander.close();
    await server.close();
    dir.cleanup();
  });

  it.each([
    ["garbage bytes", new Uint8Array([0xff, 0xfe, 0x00, 0x01])],
    ["a truncated frame", encodeClientMessage({ kind: "request", xid: 1, request: { type: "getData", path: "/stable", watch: false } }).slice(0, 5)],
    ["an empty frame", new Uint8Array(0)],
  ])("a connected client sending %s is closed with MARSHALLINGERROR", async (_name, bytes) => {
    const c = await session();
    c.sendRaw(bytes);
    const closed = await c.closedWith();
    expect(closed.notice?.code).toBe(Code.MARSHALLINGERROR);
    await bystanderStillServed();
  });

  it("a text frame is refused with a reason", async () => {
    const c = await session();
    c.sendRaw("hello");
    const closed = await c.closedWith();
    expect(closed.notice?.reason).toMatch(/binary/);
    await bystanderStillServed();
  });

  it("a request before the connect handshake closes the connection", async () => {
    const c = await RawClient.open(server.port);
    c.send({ kind: "request", xid: 1, request: { type: "ping" } });
    const closed = await c.closedWith();
    expect(closed.notice?.reason).toMatch(/first frame must be a connect/);
  });

  it("a frame over the size limit is refused and the server keeps running", async () => {
    const c = await session();
    c.sendRaw(new Uint8Array(limits.frameBytesMax + 10));
    const closed = await c.closedWith();
    expect(closed.code).toBe(1009);
    await bystanderStillServed();
  });

  it("an unknown operation gets UNIMPLEMENTED and the connection stays usable", async () => {
    const c = await session();
    // Field 99 of Request is no operation Keeper knows: the frame parses but asks for nothing.
    c.sendRaw(new Uint8Array([0x12, 0x02, 0x08, 0x07]));
    expect((await c.response(7)).err).toBe(Code.UNIMPLEMENTED);
    c.send({ kind: "request", xid: 8, request: { type: "exists", path: "/stable", watch: false } });
    expect((await c.response(8)).err).toBe(Code.OK);
    c.close();
  });

  it.each([
    ["a relative path", { type: "getData", path: "stable", watch: false }, Code.BADARGUMENTS],
    // ZooKeeper looks up the parent first: /a does not exist here.
    ["a trailing slash", { type: "create", path: "/a/", data: new Uint8Array(), acl: [...OPEN_ACL_UNSAFE], mode: 0, ttlMs: 0 }, Code.NONODE],
    ["a trailing slash under an existing parent", { type: "create", path: "/stable/", data: new Uint8Array(), acl: [...OPEN_ACL_UNSAFE], mode: 0, ttlMs: 0 }, Code.BADARGUMENTS],
    ["data over the limit", { type: "setData", path: "/stable", data: new Uint8Array(limits.dataBytesMax + 1), version: -1 }, Code.BADARGUMENTS],
    ["an empty ACL", { type: "create", path: "/noacl", data: new Uint8Array(), acl: [], mode: 0, ttlMs: 0 }, Code.INVALIDACL],
    ["a wrong version", { type: "setData", path: "/stable", data: new Uint8Array(), version: 12345 }, Code.BADVERSION],
    ["a missing node", { type: "delete", path: "/nope", version: -1 }, Code.NONODE],
    ["deleting the root", { type: "delete", path: "/", version: -1 }, Code.BADARGUMENTS],
  ] as const)("a request with %s gets its error code and the session carries on", async (_name, request, code) => {
    const c = await session();
    c.send({ kind: "request", xid: 1, request: request as never });
    expect((await c.response(1)).err).toBe(code);
    c.send({ kind: "request", xid: 2, request: { type: "ping" } });
    expect((await c.response(2)).err).toBe(Code.OK);
    c.close();
    await bystanderStillServed();
  });

  it("resuming an unknown session or with a wrong password is refused with SESSIONEXPIRED", async () => {
    const c = await RawClient.open(server.port);
    c.connect({ sessionId: 123456, password: new Uint8Array(16) });
    expect((await c.closedWith()).notice?.code).toBe(Code.SESSIONEXPIRED);
    const real = await session();
    const { sessionId } = await real.connected();
    const thief = await RawClient.open(server.port);
    thief.connect({ sessionId, password: new Uint8Array(16) });
    expect((await thief.closedWith()).notice?.code).toBe(Code.SESSIONEXPIRED);
    real.close();
  });

  it("a client that has seen a newer zxid than the server is refused", async () => {
    const c = await RawClient.open(server.port);
    c.connect({ lastZxidSeen: 2 ** 50 });
    const closed = await c.closedWith();
    expect(closed.notice?.reason).toMatch(/has seen zxid/);
  });

  it("an unsupported protocol version is refused", async () => {
    const c = await RawClient.open(server.port);
    c.connect({ protocolVersion: 99 });
    expect((await c.closedWith()).notice?.reason).toMatch(/protocol version 99/);
  });

  it("a second connect on an established session closes the connection", async () => {
    const c = await session();
    c.connect();
    expect((await c.closedWith()).notice?.reason).toMatch(/already connected/);
  });
});
