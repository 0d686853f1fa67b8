// Bad input on the ZooKeeper port of a single Keeper node: truncated frames, lengths over
// jute.maxbuffer, unknown opcodes, garbage before the handshake. Each gets an error reply or a
// closed connection, never a crash; a real client (node-zookeeper-client) on the same node keeps
// working throughout. Then the four-letter words.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, JuteWriter, OpCode, encodeConnectRequest, encodeZkRequest } from "@keeper/protocol";
import { poll, sleep, startEnsemble, type Ensemble } from "../support/ensemble.ts";
import { NzcClient, nextEvent } from "../support/zk-node-client.ts";
import { RawZk, concat, lengthPrefix } from "../support/zk-raw.ts";
import { connectString, fourLetterWord, mntr, zkPorts } from "../support/zk-tools.ts";

const OPEN_ACL = [{ perms: 31, scheme: "world", id: "anyone" }];
const enc = (s: string) => new TextEncoder().encode(s);

/** Reproducible junk (a 32-bit LCG): the same bytes on every run. */
function junk(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("bad input on the ZooKeeper port", () => {
  let e: Ensemble;
  let port: number;
  let observer: NzcClient;
  let observerSession: string;
  let round = 0;

  beforeAll(async () => {
    // One node is a standalone server (state "standalone"), not a leader: wait for it to serve.
    e = await startEnsemble({ size: 1, noWait: true });
    await poll(async () => (await e.nodes[0]!.status())?.serving === true, { timeoutMs: 20_000, what: "the single node serving" });
    port = (await zkPorts(e)).get(1)!;
    observer = await NzcClient.connect(connectString(new Map([[1, port]])));
    observerSession = observer.sessionId;
    await observer.create("/observer", Buffer.from("0"));
  }, 60_000);

  afterAll(async () => {
    await observer?.close().catch(() => {});
    await e?.cleanup();
  });

  /** The node is alive and the other client on it still reads and writes, in the same session. */
  async function othersUnaffected(): Promise<void> {
    expect(e.nodes[0]!.running, e.output()).toBe(true);
    round++;
    await observer.setData("/observer", Buffer.from(String(round)));
    expect((await observer.getData("/observer")).data?.toString()).toBe(String(round));
    expect(observer.sessionId).toBe(observerSession);
  }

  /** Resolves true if the server closes the connection within `ms` (reading and dropping any frames). */
  async function closesWithin(c: RawZk, ms = 5_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const f = await c.nextFrame(deadline - Date.now());
      if (f === "closed") return true;
      if (f === "timeout") return false;
    }
    return c.isClosed;
  }

  async function session(): Promise<{ c: RawZk; sessionId: bigint; passwd: Uint8Array }> {
    const c = await RawZk.open(port);
    const rsp = await c.handshake();
    expect(rsp.sessionId).not.toBe(0n);
    return { c, sessionId: rsp.sessionId, passwd: rsp.passwd };
  }

  /** A frame that is cut short inside its body (the length prefix is right for what is sent). */
  function truncatedGetData(xid: number): Uint8Array {
    const w = new JuteWriter({ lengthPrefix: true });
    w.int(xid).int(OpCode.getData).int(100).raw(enc("/abc")); // a path of 100 bytes, 4 of them sent
    return w.finish();
  }

  describe("garbage before the handshake: closed, never a crash", () => {
    const cases: Array<[string, () => Uint8Array]> = [
      ["an HTTP request", () => enc("GET / HTTP/1.1\r\nHost: keeper\r\n\r\n")],
      ["a 64-byte frame of junk, then more junk", () => concat(lengthPrefix(64), junk(256, 1))],
      ["a short frame of junk", () => concat(lengthPrefix(8), junk(8, 2))],
      ["a negative length", () => concat(lengthPrefix(-1), randomBytes(16))],
      ["a request frame instead of a ConnectRequest", () => encodeZkRequest(1, { type: "getData", path: "/observer", watch: false })],
      ["a TLS ClientHello", () => concat(Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]), randomBytes(64))],
      ["an unknown four-letter word", () => enc("abcd")],
    ];
    for (const [name, bytes] of cases) {
      it(name, async () => {
        const c = await RawZk.open(port);
        c.write(bytes());
        // Anything the server answers before closing must be a ConnectResponse that gives no session.
        const f = await c.nextFrame(5_000);
        if (f !== "closed") {
          expect(f).not.toBe("timeout");
          await expect(closesWithin(c)).resolves.toBe(true);
        }
        await othersUnaffected();
      });
    }
  });

  describe("lengths over jute.maxbuffer: closed at once, the body never awaited", () => {
    it("2^31-1 as the first frame", async () => {
      const c = await RawZk.open(port);
      c.write(lengthPrefix(0x7fffffff));
      await expect(closesWithin(c)).resolves.toBe(true);
      await othersUnaffected();
    });

    it("just over the limit (1 MiB + 64 KiB + 1) after the handshake; the session outlives its connection", async () => {
      const { c, sessionId, passwd } = await session();
      c.write(concat(lengthPrefix(1024 * 1024 + 64 * 1024 + 1), randomBytes(1024)));
      await expect(closesWithin(c)).resolves.toBe(true);
      // As in ZooKeeper, a broken connection does not end the session: it can be resumed.
      const again = await RawZk.open(port);
      const rsp = await again.handshake({ sessionId, passwd });
      expect(rsp.sessionId).toBe(sessionId);
      const r = await again.request(1, { type: "exists", path: "/observer", watch: false });
      expect(r).toMatchObject({ xid: 1, err: Code.OK });
      again.end();
      await othersUnaffected();
    });

    it("a large frame under the limit is read in full (setData of 1000 KiB)", async () => {
      const { c } = await session();
      const data = randomBytes(1000 * 1024);
      expect(await c.request(1, { type: "create", path: "/big", data, acl: OPEN_ACL, flags: 0 })).toMatchObject({ err: Code.OK });
      const r = await c.request(2, { type: "getData", path: "/big", watch: false });
      expect(r !== "closed" && r !== "timeout" && r.body?.type === "getData" && Buffer.from(r.body.data ?? []).equals(data)).toBe(true);
      c.end();
      await othersUnaffected();
    });
  });

  describe("truncated frames", () => {
    it("a body cut short inside a field: the connection is closed, the session lives on", async () => {
      const { c, sessionId, passwd } = await session();
      c.write(truncatedGetData(7));
      await expect(closesWithin(c)).resolves.toBe(true);
      const again = await RawZk.open(port);
      expect((await again.handshake({ sessionId, passwd })).sessionId).toBe(sessionId);
      again.end();
      await othersUnaffected();
    });

    it("a frame whose body never comes in full, then the client hangs up", async () => {
      const { c } = await session();
      c.write(concat(lengthPrefix(1000), randomBytes(10)));
      await sleep(100);
      c.sock.end();
      await expect(closesWithin(c)).resolves.toBe(true);
      await othersUnaffected();
    });

    it("a truncated ConnectRequest", async () => {
      const c = await RawZk.open(port);
      const full = encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 10_000, sessionId: 0n, passwd: new Uint8Array(16) });
      // Right length prefix, body cut: the passwd length says 16 but 3 bytes follow.
      const cut = full.slice(4, full.length - 13);
      c.write(concat(lengthPrefix(cut.length), cut));
      await expect(closesWithin(c)).resolves.toBe(true);
      await othersUnaffected();
    });

    it("a valid request sent one byte per TCP write is answered", async () => {
      const { c } = await session();
      const bytes = encodeZkRequest(5, { type: "exists", path: "/observer", watch: false });
      for (const b of bytes) {
        c.write(Uint8Array.of(b));
        await sleep(2);
      }
      expect(await c.reply(OpCode.exists)).toMatchObject({ xid: 5, err: Code.OK });
      c.end();
    });
  });

  describe("unknown and unsupported opcodes: UNIMPLEMENTED, and the connection stays usable", () => {
    it("opcodes 999, -42, deleteContainer (20), reconfig (16), sasl (102)", async () => {
      const { c } = await session();
      let xid = 1;
      for (const opcode of [999, -42, OpCode.deleteContainer, OpCode.reconfig, OpCode.sasl]) {
        const body = opcode === OpCode.deleteContainer ? { type: "deleteContainer" as const, path: "/observer" } : { type: "unknown" as const, opcode, body: randomBytes(12) };
        const r = await c.request(xid, body);
        expect(r, `opcode ${opcode}`).toMatchObject({ xid, err: Code.UNIMPLEMENTED });
        xid++;
        // The same connection goes on: a read, and a write.
        expect(await c.request(xid, { type: "exists", path: "/observer", watch: false }), `after opcode ${opcode}`).toMatchObject({ xid, err: Code.OK });
        xid++;
      }
      expect(await c.request(xid, { type: "create", path: "/after-unknown", data: enc("ok"), acl: OPEN_ACL, flags: 0 })).toMatchObject({ xid, err: Code.OK });
      expect((await observer.getData("/after-unknown")).data?.toString()).toBe("ok");
      c.end();
      await othersUnaffected();
    });
  });

  describe("jute nulls: a well-formed request never closes the session", () => {
    /** A request frame whose path (the first field after the header) is a jute null. */
    function nullPath(xid: number, opcode: number, rest: (w: JuteWriter) => void): Uint8Array {
      const w = new JuteWriter({ lengthPrefix: true });
      w.int(xid).int(opcode).ustring(null);
      rest(w);
      return w.finish();
    }

    it("a null path: MARSHALLINGERROR for that request, as ZooKeeper answers it, and the connection goes on", async () => {
      const { c } = await session();
      const cases: Array<[number, (w: JuteWriter) => void]> = [
        [OpCode.getData, (w) => w.bool(false)],
        [OpCode.exists, (w) => w.bool(false)],
        [OpCode.getChildren2, (w) => w.bool(false)],
        [OpCode.setData, (w) => w.buffer(enc("x")).int(-1)],
        [OpCode.delete, (w) => w.int(-1)],
        [OpCode.create, (w) => w.buffer(null).vector(OPEN_ACL, (v, a) => v.int(a.perms).ustring(a.scheme).ustring(a.id)).int(0)],
        [OpCode.getACL, () => {}],
      ];
      let xid = 1;
      for (const [opcode, rest] of cases) {
        c.write(nullPath(xid, opcode, rest));
        // As ZooKeeper 3.8 answers them (setData checks its path first: BADARGUMENTS).
        expect(await c.reply(opcode), `opcode ${opcode}`).toMatchObject({ xid, err: opcode === OpCode.setData ? Code.BADARGUMENTS : Code.MARSHALLINGERROR });
        xid++;
        expect(await c.request(xid, { type: "exists", path: "/observer", watch: false }), `after opcode ${opcode}`).toMatchObject({ xid, err: Code.OK });
        xid++;
      }
      c.end();
      await othersUnaffected();
    });

    it("null ACL fields: an auth id is ignored, a null world id is MARSHALLINGERROR, a null scheme INVALIDACL, a null list INVALIDACL", async () => {
      const { c } = await session();
      expect(await c.request(1, { type: "auth", authType: 0, scheme: "digest", auth: enc("bob:secret") })).toMatchObject({ err: Code.OK });
      const create = (xid: number, path: string, acl: Array<{ perms: number; scheme: string | null; id: string | null }>) => c.request(xid, { type: "create", path, data: null, acl, flags: 0 });
      expect(await create(2, "/null-auth-id", [{ perms: 31, scheme: "auth", id: null }])).toMatchObject({ xid: 2, err: Code.OK });
      expect(await c.request(3, { type: "getACL", path: "/null-auth-id" })).toMatchObject({ xid: 3, err: Code.OK, body: { acl: [{ perms: 31, scheme: "digest", id: expect.stringMatching(/^bob:/) }] } });
      expect(await create(4, "/null-world-id", [{ perms: 31, scheme: "world", id: null }])).toMatchObject({ xid: 4, err: Code.MARSHALLINGERROR });
      expect(await create(5, "/null-scheme", [{ perms: 31, scheme: null, id: "anyone" }])).toMatchObject({ xid: 5, err: Code.INVALIDACL });
      const nullList = new JuteWriter({ lengthPrefix: true });
      nullList.int(6).int(OpCode.create).ustring("/null-acl-list").buffer(null).int(-1).int(0);
      c.write(nullList.finish());
      expect(await c.reply(OpCode.create)).toMatchObject({ xid: 6, err: Code.INVALIDACL });
      expect(await c.request(7, { type: "getData", path: "/null-auth-id", watch: false })).toMatchObject({ xid: 7, err: Code.OK, body: { data: null } });
      c.end();
      await othersUnaffected();
    });
  });

  it("many bad connections at once leave the node serving", async () => {
    const conns = await Promise.all(Array.from({ length: 30 }, () => RawZk.open(port)));
    conns.forEach((c, i) => c.write(i % 3 === 0 ? lengthPrefix(0x7fffffff) : i % 3 === 1 ? randomBytes(100) : truncatedGetData(1)));
    await Promise.all(conns.map((c) => Promise.race([c.closed, sleep(12_000)])));
    expect(conns.every((c) => c.isClosed)).toBe(true);
    await othersUnaffected();
    expect(await fourLetterWord(port, "ruok")).toBe("imok");
  }, 20_000);

  describe("four-letter words", () => {
    it("ruok, isro", async () => {
      expect(await fourLetterWord(port, "ruok")).toBe("imok");
      expect(await fourLetterWord(port, "isro")).toBe("rw");
    });

    it("srvr and stat", async () => {
      const srvr = await fourLetterWord(port, "srvr");
      expect(srvr).toMatch(/^Zookeeper version: 3\.\d+\.\d+/);
      for (const field of ["Latency min/avg/max:", "Received:", "Sent:", "Connections:", "Outstanding:", "Zxid: 0x", "Mode:", "Node count:"]) expect(srvr).toContain(field);
      const stat = await fourLetterWord(port, "stat");
      expect(stat).toMatch(/^Zookeeper version: /);
      expect(stat).toContain("Clients:");
      expect(stat).toMatch(/Mode: \w+/);
    });

    it("mntr, conf, cons, envi, wchs", async () => {
      const w = nextEvent();
      await observer.getData("/observer", w.watcher);
      const m = await mntr(port);
      expect(m.zk_version).toMatch(/^3\./);
      expect(m.zk_server_state).toMatch(/^(leader|standalone)$/);
      expect(Number(m.zk_znode_count)).toBeGreaterThanOrEqual(3);
      expect(Number(m.zk_num_alive_connections)).toBeGreaterThanOrEqual(1);
      expect(Number(m.zk_watch_count)).toBeGreaterThanOrEqual(1);
      expect(await fourLetterWord(port, "conf")).toMatch(/^\w+=.+$/m);
      const cons = await fourLetterWord(port, "cons");
      expect(cons).toMatch(/^ \/127\.0\.0\.1:\d+\[1\]\(queued=\d+,recved=\d+,sent=\d+,sid=0x[0-9a-f]+\)$/m);
      expect(cons).toContain(`sid=0x${BigInt("0x" + observerSession).toString(16)}`);
      const envi = await fourLetterWord(port, "envi");
      expect(envi).toMatch(/^Environment:\nzookeeper\.version=3\./);
      expect(envi).toContain("host.name=");
      expect(await fourLetterWord(port, "wchs")).toMatch(/^\d+ connections watching \d+ paths\nTotal watches:[1-9]\d*\n$/);
    });

    it("a word that is known but not served answers as ZooKeeper's whitelist does", async () => {
      expect(await fourLetterWord(port, "dump")).toBe("dump is not executed because it is not in the whitelist.\n");
    });

    // BUG: a four-letter word that arrives in two TCP segments is not recognised. Expected (as
    // ZooKeeper's NIOServerCnxn, which reads the 4 bytes before deciding): "ru" then "ok" -> "imok".
    // Actual: the listener (packages/server/src/zookeeper/listener.ts) looks for a word only in
    // the first 'data' chunk and only if it has >= 4 bytes; "ru" makes it a session connection,
    // "ruok" is then read as the frame length 0x72756f6b > max, and the connection is closed with
    // no answer: AssertionError: expected '' to be 'imok'.
    it("a four-letter word split across two TCP writes", async () => {
      const c = await RawZk.open(port);
      let text = "";
      c.sock.on("data", (d: Buffer) => (text += d.toString()));
      c.write("ru");
      await sleep(100);
      c.write("ok");
      await Promise.race([c.closed, sleep(3_000)]);
      c.end();
      expect(text).toBe("imok");
    });
  });

  it("the node never crashed", async () => {
    await othersUnaffected();
    const st = await e.nodes[0]!.status();
    expect(st?.serving).toBe(true);
    expect(e.nodes[0]!.output()).not.toMatch(/Uncaught|TypeError|RangeError|FATAL/i);
  });
});
