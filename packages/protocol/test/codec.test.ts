// The native codec: every message round-trips, and bytes from a peer either decode to a message
// or throw FrameError; a frame that parses but asks for something invalid becomes "invalid".
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Code,
  CreateMode,
  FrameError,
  KeeperState,
  EventType,
  asSessionId,
  asZxid,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  limits,
  type Acl,
  type ClientMessage,
  type MultiOp,
  type MultiOpResult,
  type Request,
  type Result,
  type ServerMessage,
  type Stat,
} from "../src/index.ts";

const RUNS = { numRuns: 300 };
const b = (s: string) => new TextEncoder().encode(s);
const acl: Acl[] = [{ perms: 31, scheme: "world", id: "anyone" }, { perms: 1, scheme: "ip", id: "10.0.0.0/8" }];
const stat: Stat = {
  czxid: asZxid(0x1_0000_0001), mzxid: asZxid(0x1_0000_0005), ctime: 1_700_000_000_000, mtime: 1_700_000_000_500, version: 3, cversion: 2, aversion: 1,
  ephemeralOwner: asSessionId(0x2_0000_0009), dataLength: 5, numChildren: 2, pzxid: asZxid(0x1_0000_0004),
};

/** Decoded bytes may come back as a Buffer; compare them as plain Uint8Arrays. */
function plain<T>(v: T): T {
  if (v instanceof Uint8Array) return new Uint8Array(v) as T;
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
  return v;
}

const REQUESTS: Array<[string, Request]> = [
  ["create", { type: "create", path: "/a", data: b("hello"), acl, mode: CreateMode.EPHEMERAL_SEQUENTIAL, ttlMs: 0 }],
  ["create with ttl", { type: "create", path: "/t", data: new Uint8Array(0), acl, mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 60_000 }],
  ["delete", { type: "delete", path: "/a", version: -1 }],
  ["exists", { type: "exists", path: "/a", watch: true }],
  ["getData", { type: "getData", path: "/a", watch: false }],
  ["getChildren", { type: "getChildren", path: "/", watch: true }],
  ["setData", { type: "setData", path: "/a", data: b("x"), version: 7 }],
  ["check", { type: "check", path: "/a", version: 0 }],
  [
    "multi",
    {
      type: "multi",
      ops: [
        { type: "create", path: "/m", data: b("1"), acl, mode: CreateMode.PERSISTENT, ttlMs: 0 },
        { type: "delete", path: "/n", version: 2 },
        { type: "setData", path: "/m", data: b("2"), version: -1 },
        { type: "check", path: "/m", version: 1 },
      ],
    },
  ],
  ["empty multi", { type: "multi", ops: [] }],
  ["sync", { type: "sync", path: "/a" }],
  ["getACL", { type: "getACL", path: "/a" }],
  ["setACL", { type: "setACL", path: "/a", acl, version: 4 }],
  ["setWatches", { type: "setWatches", relativeZxid: asZxid(0x3_0000_0010), dataWatches: ["/a"], existWatches: ["/b", "/c"], childWatches: [] }],
  ["ping", { type: "ping" }],
  ["closeSession", { type: "closeSession" }],
];

const opResults: MultiOpResult[] = [
  { type: "create", path: "/m", stat },
  { type: "delete" },
  { type: "setData", stat },
  { type: "check" },
  { type: "error", err: Code.OK },
  { type: "error", err: Code.NONODE },
  { type: "error", err: Code.RUNTIMEINCONSISTENCY },
];

const RESULTS: Array<[string, Result]> = [
  ["create", { type: "create", path: "/a0000000001", stat }],
  ["delete", { type: "delete" }],
  ["exists", { type: "exists", stat }],
  ["getData", { type: "getData", data: b("payload"), stat }],
  ["setData", { type: "setData", stat }],
  ["getChildren", { type: "getChildren", children: ["a", "b"], stat }],
  ["check", { type: "check" }],
  ["multi", { type: "multi", results: opResults }],
  ["sync", { type: "sync", path: "/a" }],
  ["getACL", { type: "getACL", acl, stat }],
  ["setACL", { type: "setACL", stat }],
  ["setWatches", { type: "setWatches" }],
  ["ping", { type: "ping" }],
  ["closeSession", { type: "closeSession" }],
];

describe("encodeClientMessage() / decodeClientMessage()", () => {
  it.each(REQUESTS)("round-trips a %s request", (_name, request) => {
    const msg: ClientMessage = { kind: "request", xid: 17, request };
    expect(plain(decodeClientMessage(encodeClientMessage(msg)))).toEqual(msg);
  });

  it("round-trips a connect request", () => {
    const msg: ClientMessage = { kind: "connect", protocolVersion: 1, sessionId: asSessionId(0x1_0000_0001), password: b("pw"), timeoutMs: 30_000, lastZxidSeen: asZxid(99), canBeReadOnly: true };
    expect(plain(decodeClientMessage(encodeClientMessage(msg)))).toEqual(msg);
  });

  it("a request frame with no op is invalid with UNIMPLEMENTED", () => {
    // ClientFrame { request (field 2) { xid (field 1) = 5 } }
    const frame = new Uint8Array([0x12, 0x02, 0x08, 0x05]);
    expect(decodeClientMessage(frame)).toMatchObject({ kind: "invalid", xid: 5, err: Code.UNIMPLEMENTED });
  });

  it("a create with an unknown mode is invalid with BADARGUMENTS", () => {
    const bytes = encodeClientMessage({ kind: "request", xid: 9, request: { type: "create", path: "/a", data: new Uint8Array(0), acl, mode: 9 as CreateMode, ttlMs: 0 } });
    expect(decodeClientMessage(bytes)).toMatchObject({ kind: "invalid", xid: 9, err: Code.BADARGUMENTS });
  });

  it("a read inside a multi is invalid with BADARGUMENTS", () => {
    const bytes = encodeClientMessage({ kind: "request", xid: 3, request: { type: "multi", ops: [{ type: "getData", path: "/a", watch: false } as unknown as MultiOp] } });
    expect(decodeClientMessage(bytes)).toMatchObject({ kind: "invalid", xid: 3, err: Code.BADARGUMENTS });
  });

  it("a multi over multiOpsMax is invalid with BADARGUMENTS", () => {
    const ops: MultiOp[] = Array.from({ length: limits.multiOpsMax + 1 }, () => ({ type: "check", path: "/a", version: -1 }));
    const bytes = encodeClientMessage({ kind: "request", xid: 4, request: { type: "multi", ops } });
    expect(decodeClientMessage(bytes)).toMatchObject({ kind: "invalid", xid: 4, err: Code.BADARGUMENTS });
  });

  it("an empty frame carries neither connect nor request: FrameError", () => {
    expect(() => decodeClientMessage(new Uint8Array(0))).toThrow(FrameError);
  });

  it("a frame over frameBytesMax is refused before parsing", () => {
    expect(() => decodeClientMessage(new Uint8Array(limits.frameBytesMax + 1))).toThrow(/exceeds/);
  });

  it("FrameError carries MARSHALLINGERROR", () => {
    try {
      decodeClientMessage(new Uint8Array([0xff]));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FrameError);
      expect((e as FrameError).code).toBe(Code.MARSHALLINGERROR);
    }
  });

  const expectFrameErrorOrMessage = (bytes: Uint8Array) => {
    try {
      const msg = decodeClientMessage(bytes);
      expect(["connect", "request", "invalid"]).toContain(msg.kind);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
    }
  };

  it("random bytes only ever decode to a message or throw FrameError (property)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), expectFrameErrorOrMessage), { numRuns: 500 });
  });

  it("valid frames with random bytes changed only ever decode to a message or throw FrameError (property)", () => {
    const frames = REQUESTS.map(([, request]) => encodeClientMessage({ kind: "request", xid: 1, request }));
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (frame, edits) => {
        const bytes = frame.slice();
        for (const [at, v] of edits) bytes[at % bytes.length] = v;
        expectFrameErrorOrMessage(bytes);
      }),
      { numRuns: 500 },
    );
  });

  // Regression (fixed): the connect branch of decodeClientMessage() runs asSessionId()/asZxid() outside any
  // try, so a uint64 sessionId or lastZxidSeen above 2^53 throws RangeError instead of FrameError.
  // Expected: FrameError (or clamp/reject inside the codec), as for any other malformed frame.
  it("a connect frame with a sessionId above 2^53 throws FrameError", () => {
    const inner = [0x10, ...varint(1n << 60n)]; // ConnectRequest.sessionId (field 2)
    const frame = new Uint8Array([0x0a, inner.length, ...inner]); // ClientFrame.connect (field 1)
    expect(() => decodeClientMessage(frame)).toThrow(FrameError);
  });
});

function varint(n: bigint): number[] {
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

describe("encodeServerMessage() / decodeServerMessage()", () => {
  it.each(RESULTS)("round-trips a response with a %s result", (_name, result) => {
    const msg: ServerMessage = { kind: "response", xid: 8, zxid: asZxid(0x1_0000_0020), err: Code.OK, result };
    expect(plain(decodeServerMessage(encodeServerMessage(msg)))).toEqual(msg);
  });

  it("round-trips an error response without a result", () => {
    const msg: ServerMessage = { kind: "response", xid: -2, zxid: asZxid(5), err: Code.NONODE };
    expect(decodeServerMessage(encodeServerMessage(msg))).toEqual(msg);
  });

  it("round-trips a failed multi's per-op codes", () => {
    const results: MultiOpResult[] = [{ type: "error", err: Code.OK }, { type: "error", err: Code.BADVERSION }, { type: "error", err: Code.RUNTIMEINCONSISTENCY }];
    const msg: ServerMessage = { kind: "response", xid: 1, zxid: asZxid(6), err: Code.BADVERSION, result: { type: "multi", results } };
    expect(decodeServerMessage(encodeServerMessage(msg))).toEqual(msg);
  });

  it.each<[string, ServerMessage]>([
    ["connected", { kind: "connected", protocolVersion: 1, sessionId: asSessionId(0x1_0000_0001), password: b("0123456789abcdef"), timeoutMs: 4000, readOnly: false, lastZxid: asZxid(77), serverId: 3 }],
    ["event", { kind: "event", type: EventType.NodeChildrenChanged, state: KeeperState.SyncConnected, path: "/a", zxid: asZxid(12) }],
    ["close", { kind: "close", code: Code.SESSIONEXPIRED, reason: "session expired" }],
  ])("round-trips a %s message", (_name, msg) => {
    expect(plain(decodeServerMessage(encodeServerMessage(msg)))).toEqual(msg);
  });

  it("random bytes only ever decode to a message or throw FrameError (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeServerMessage(bytes);
        } catch (e) {
          if (!(e instanceof FrameError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});

// Arbitrary messages: well-formed Unicode strings, numbers within each field's wire type.
const str = fc.string({ unit: "grapheme", maxLength: 10 });
const data = fc.uint8Array({ maxLength: 32 });
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const zxid = fc.maxSafeNat().map(asZxid);
const aclArb = fc.array(fc.record({ perms: i32, scheme: str, id: str }), { maxLength: 3 });
const mode = fc.constantFrom(...(Object.values(CreateMode) as CreateMode[]));
const statArb: fc.Arbitrary<Stat> = fc.record({
  czxid: zxid, mzxid: zxid, ctime: fc.maxSafeInteger(), mtime: fc.maxSafeInteger(), version: i32, cversion: i32, aversion: i32,
  ephemeralOwner: fc.maxSafeNat().map(asSessionId), dataLength: i32, numChildren: i32, pzxid: zxid,
});
const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: str, data, acl: aclArb, mode, ttlMs: fc.maxSafeNat() }),
  fc.record({ type: fc.constant("delete" as const), path: str, version: i32 }),
  fc.record({ type: fc.constant("setData" as const), path: str, data, version: i32 }),
  fc.record({ type: fc.constant("check" as const), path: str, version: i32 }),
);
const request: fc.Arbitrary<Request> = fc.oneof(
  multiOp,
  fc.record({ type: fc.constantFrom("exists" as const, "getData" as const, "getChildren" as const), path: str, watch: fc.boolean() }),
  fc.record({ type: fc.constant("multi" as const), ops: fc.array(multiOp, { maxLength: 4 }) }),
  fc.record({ type: fc.constantFrom("sync" as const, "getACL" as const), path: str }),
  fc.record({ type: fc.constant("setACL" as const), path: str, acl: aclArb, version: i32 }),
  fc.record({ type: fc.constant("setWatches" as const), relativeZxid: zxid, dataWatches: fc.array(str, { maxLength: 3 }), existWatches: fc.array(str, { maxLength: 3 }), childWatches: fc.array(str, { maxLength: 3 }) }),
  fc.record({ type: fc.constantFrom("ping" as const, "closeSession" as const) }),
);
const code = fc.constantFrom(...(Object.values(Code) as Code[]));
const opResult: fc.Arbitrary<MultiOpResult> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: str, stat: statArb }),
  fc.record({ type: fc.constantFrom("delete" as const, "check" as const) }),
  fc.record({ type: fc.constant("setData" as const), stat: statArb }),
  fc.record({ type: fc.constant("error" as const), err: code }),
);
const result: fc.Arbitrary<Result> = fc.oneof(
  opResult.filter((r) => r.type !== "error") as fc.Arbitrary<Result>,
  fc.record({ type: fc.constantFrom("exists" as const, "setACL" as const), stat: statArb }),
  fc.record({ type: fc.constant("getData" as const), data, stat: statArb }),
  fc.record({ type: fc.constant("getChildren" as const), children: fc.array(str, { maxLength: 4 }), stat: statArb }),
  fc.record({ type: fc.constant("multi" as const), results: fc.array(opResult, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("sync" as const), path: str }),
  fc.record({ type: fc.constant("getACL" as const), acl: aclArb, stat: statArb }),
  fc.record({ type: fc.constantFrom("setWatches" as const, "ping" as const, "closeSession" as const) }),
);

describe("native codec round-trips (property)", () => {
  it("every arbitrary request round-trips", () => {
    fc.assert(
      fc.property(request, i32, (req, xid) => {
        const msg: ClientMessage = { kind: "request", xid, request: req };
        expect(plain(decodeClientMessage(encodeClientMessage(msg)))).toEqual(msg);
      }),
      RUNS,
    );
  });

  it("every arbitrary response round-trips", () => {
    fc.assert(
      fc.property(result, i32, zxid, code, (res, xid, z, err) => {
        const msg: ServerMessage = { kind: "response", xid, zxid: z, err, result: res };
        expect(plain(decodeServerMessage(encodeServerMessage(msg)))).toEqual(msg);
      }),
      RUNS,
    );
  });

  it("every arbitrary connect request round-trips", () => {
    fc.assert(
      fc.property(u32, fc.maxSafeNat(), data, u32, zxid, fc.boolean(), (protocolVersion, sid, password, timeoutMs, lastZxidSeen, canBeReadOnly) => {
        const msg: ClientMessage = { kind: "connect", protocolVersion, sessionId: asSessionId(sid), password, timeoutMs, lastZxidSeen, canBeReadOnly };
        expect(plain(decodeClientMessage(encodeClientMessage(msg)))).toEqual(msg);
      }),
      RUNS,
    );
  });
});
