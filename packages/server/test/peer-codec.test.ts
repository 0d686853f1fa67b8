// Every field of every request survives the trip a follower's client write takes to the leader
// (a `forward` peer frame: protobuf through requestToObject/requestFromObject), every
// transaction survives the trip back (proposal, diff), and every result survives the native
// response path (encodeServerMessage, decodeServerMessage as the client reads it). Issue 9: a
// follower forwarding create(path, None) lost the null because the protobuf had no field for it;
// these tests fail for any field that does not make the trip.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asServerId, encodeTxn, type ForwardedRequest, type PeerMessage, type TreeTxn, type Txn, type TxnBody, type WriteRequest } from "@keeper/core";
import {
  AddWatchMode,
  CONTAINER_OWNER,
  Code,
  CreateMode,
  FrameError,
  TTL_MS_MAX,
  WatcherType,
  asSessionId,
  asZxid,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  protoRoot,
  ttlOwner,
  type Acl,
  type Identity,
  type MultiOp,
  type MultiOpResult,
  type ReadOpResult,
  type Request,
  type RequestType,
  type Result,
  type Stat,
} from "@keeper/protocol";
import { decodePeerFrame, encodePeerFrame } from "../src/peers/peer-codec.ts";

const RUNS = { numRuns: 400 };

/** Decoded bytes may come back as a Buffer; compare them as plain Uint8Arrays. */
function plain<T>(v: T): T {
  if (v instanceof Uint8Array) return new Uint8Array(v) as T;
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
  return v;
}

/** One peer message through encodePeerFrame and decodePeerFrame. */
function viaPeer(msg: PeerMessage): PeerMessage {
  const got = decodePeerFrame(encodePeerFrame({ kind: "message", msg }));
  if (got.kind !== "message") throw new Error(`decoded a ${got.kind}`);
  return plain(got.msg);
}

/** A client's write as a follower forwards it: session 0x1_0000_0007, its connection 9, cxid 42. */
function forward(request: Request): PeerMessage {
  const req: ForwardedRequest = { type: "write", sessionId: asSessionId(0x1_0000_0007), conn: 9, cxid: 42, request: request as WriteRequest };
  return { type: "forward", epoch: 3, req };
}

// ------------------------------------------------------------------------------- arbitraries

// Well-formed Unicode (protobuf strings are UTF-8), numbers within each field's wire type.
const str = fc.string({ unit: "grapheme", maxLength: 10 });
const data = fc.uint8Array({ maxLength: 32 });
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const zxid = fc.maxSafeNat().map(asZxid);
const acl: fc.Arbitrary<Acl[]> = fc.array(fc.record({ perms: i32, scheme: str, id: str }), { maxLength: 3 });
const mode = fc.constantFrom(...Object.values(CreateMode));
const code = fc.constantFrom(...(Object.values(Code) as Code[]));
const failure = code.filter((c) => c !== Code.OK);
const strs = fc.array(str, { maxLength: 3 });
/** Session ids, 0 (persistent), the container code, and TTL codes down to the longest TTL. */
const owner = fc.oneof(fc.maxSafeNat(), fc.constant(0), fc.constant(CONTAINER_OWNER), fc.integer({ min: 0, max: TTL_MS_MAX }).map(ttlOwner));
const stat: fc.Arbitrary<Stat> = fc.record({
  czxid: zxid, mzxid: zxid, ctime: fc.maxSafeInteger(), mtime: fc.maxSafeInteger(), version: i32, cversion: i32, aversion: i32,
  ephemeralOwner: owner, dataLength: i32, numChildren: i32, pzxid: zxid,
});
/** Optional flags are set (true) or absent, as the translators write them: never false. */
const nullData = { nullData: fc.constant(true as const) };
const opt = <T extends object>(arb: { [K in keyof T]: fc.Arbitrary<T[K]> }, required: Array<keyof T>) => fc.record(arb, { requiredKeys: required }) as fc.Arbitrary<T>;

const createReq = opt<Extract<Request, { type: "create" }>>(
  { type: fc.constant("create"), path: str, data, acl, mode, ttlMs: fc.integer({ min: 0, max: TTL_MS_MAX }), ...nullData },
  ["type", "path", "data", "acl", "mode", "ttlMs"],
);
const setDataReq = opt<Extract<Request, { type: "setData" }>>({ type: fc.constant("setData"), path: str, data, version: i32, ...nullData }, ["type", "path", "data", "version"]);
const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
  createReq,
  setDataReq,
  fc.record({ type: fc.constant("delete" as const), path: str, version: i32 }),
  fc.record({ type: fc.constant("check" as const), path: str, version: i32 }),
);
/** Persistent watch lists: absent, or with paths (an empty list travels as absent: see below). */
const watchList = fc.array(str, { minLength: 1, maxLength: 3 });

/** One arbitrary per Request type: a type added to Request fails the typecheck until it is here. */
const REQUESTS: { [T in RequestType]: fc.Arbitrary<Extract<Request, { type: T }>> } = {
  create: createReq,
  delete: fc.record({ type: fc.constant("delete"), path: str, version: i32 }),
  exists: fc.record({ type: fc.constant("exists"), path: str, watch: fc.boolean() }),
  getData: fc.record({ type: fc.constant("getData"), path: str, watch: fc.boolean() }),
  setData: setDataReq,
  getChildren: fc.record({ type: fc.constant("getChildren"), path: str, watch: fc.boolean() }),
  check: fc.record({ type: fc.constant("check"), path: str, version: i32 }),
  multi: fc.record({ type: fc.constant("multi"), ops: fc.array(multiOp, { maxLength: 5 }) }),
  sync: fc.record({ type: fc.constant("sync"), path: str }),
  getACL: fc.record({ type: fc.constant("getACL"), path: str }),
  setACL: fc.record({ type: fc.constant("setACL"), path: str, acl, version: i32 }),
  setWatches: opt<Extract<Request, { type: "setWatches" }>>(
    { type: fc.constant("setWatches"), relativeZxid: zxid, dataWatches: strs, existWatches: strs, childWatches: strs, persistentWatches: watchList, persistentRecursiveWatches: watchList },
    ["type", "relativeZxid", "dataWatches", "existWatches", "childWatches"],
  ),
  ping: fc.constant({ type: "ping" }),
  closeSession: fc.constant({ type: "closeSession" }),
  getAllChildrenNumber: fc.record({ type: fc.constant("getAllChildrenNumber"), path: str }),
  getEphemerals: fc.record({ type: fc.constant("getEphemerals"), prefix: str }),
  addWatch: fc.record({ type: fc.constant("addWatch"), path: str, mode: fc.constantFrom(...Object.values(AddWatchMode)) }),
  removeWatches: fc.record({ type: fc.constant("removeWatches"), path: str, watcherType: fc.constantFrom(...Object.values(WatcherType)), checkOnly: fc.boolean() }),
  multiRead: fc.record({ type: fc.constant("multiRead"), ops: fc.array(fc.record({ type: fc.constantFrom("getData" as const, "getChildren" as const), path: str }), { maxLength: 4 }) }),
  whoAmI: fc.constant({ type: "whoAmI" }),
  auth: fc.record({ type: fc.constant("auth"), scheme: str, auth: data }),
  setSequence: fc.record({ type: fc.constant("setSequence"), path: str, next: i32 }),
};

/** The requests a follower forwards to its leader (prep's WriteRequest). */
const WRITE_TYPES = ["create", "delete", "setData", "setACL", "check", "multi", "sync", "setSequence"] as const satisfies ReadonlyArray<WriteRequest["type"]>;
/** auth never leaves the node that holds the connection: the native protocol has no auth op. */
const NATIVE_TYPES = (Object.keys(REQUESTS) as RequestType[]).filter((t) => t !== "auth");
/** The origin's connection numbers. */
const conn = fc.integer({ min: 0, max: 2 ** 32 - 1 });

const opResult: fc.Arbitrary<MultiOpResult> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: str, stat }),
  fc.record({ type: fc.constantFrom("delete" as const, "check" as const) }),
  fc.record({ type: fc.constant("setData" as const), stat }),
  fc.record({ type: fc.constant("error" as const), err: code }),
);
const readOpResult: fc.Arbitrary<ReadOpResult> = fc.oneof(
  opt<Extract<ReadOpResult, { type: "getData" }>>({ type: fc.constant("getData"), data, stat, ...nullData }, ["type", "data", "stat"]),
  fc.record({ type: fc.constant("getChildren" as const), children: strs }),
  fc.record({ type: fc.constant("error" as const), err: failure }),
);

/** One arbitrary per Result type. */
const RESULTS: { [T in Result["type"]]: fc.Arbitrary<Extract<Result, { type: T }>> } = {
  create: fc.record({ type: fc.constant("create"), path: str, stat }),
  delete: fc.constant({ type: "delete" }),
  exists: fc.record({ type: fc.constant("exists"), stat }),
  getData: opt<Extract<Result, { type: "getData" }>>({ type: fc.constant("getData"), data, stat, ...nullData }, ["type", "data", "stat"]),
  setData: fc.record({ type: fc.constant("setData"), stat }),
  setSequence: fc.record({ type: fc.constant("setSequence"), stat }),
  getChildren: fc.record({ type: fc.constant("getChildren"), children: strs, stat }),
  check: fc.constant({ type: "check" }),
  multi: fc.record({ type: fc.constant("multi"), results: fc.array(opResult, { maxLength: 5 }) }),
  sync: fc.record({ type: fc.constant("sync"), path: str }),
  getACL: fc.record({ type: fc.constant("getACL"), acl, stat }),
  setACL: fc.record({ type: fc.constant("setACL"), stat }),
  setWatches: fc.constant({ type: "setWatches" }),
  ping: fc.constant({ type: "ping" }),
  closeSession: fc.constant({ type: "closeSession" }),
  getAllChildrenNumber: fc.record({ type: fc.constant("getAllChildrenNumber"), count: i32 }),
  getEphemerals: fc.record({ type: fc.constant("getEphemerals"), paths: strs }),
  addWatch: fc.constant({ type: "addWatch" }),
  removeWatches: fc.constant({ type: "removeWatches" }),
  multiRead: fc.record({ type: fc.constant("multiRead"), results: fc.array(readOpResult, { maxLength: 4 }) }),
  whoAmI: fc.record({ type: fc.constant("whoAmI"), clientInfo: fc.array(fc.record({ authScheme: str, user: str }), { maxLength: 3 }) }),
  auth: fc.constant({ type: "auth" }),
};

const treeTxn: fc.Arbitrary<TreeTxn> = fc.oneof(
  opt<Extract<TreeTxn, { type: "create" }>>({ type: fc.constant("create"), path: str, data, acl, ephemeralOwner: owner, ...nullData }, ["type", "path", "data", "acl", "ephemeralOwner"]),
  fc.record({ type: fc.constant("delete" as const), path: str }),
  opt<Extract<TreeTxn, { type: "setData" }>>({ type: fc.constant("setData"), path: str, data, version: i32, ...nullData }, ["type", "path", "data", "version"]),
  fc.record({ type: fc.constant("setACL" as const), path: str, acl, aversion: i32 }),
  fc.record({ type: fc.constant("check" as const), path: str }),
);
const txnBody: fc.Arbitrary<TxnBody> = fc.oneof(
  treeTxn,
  fc.record({ type: fc.constant("multi" as const), ops: fc.array(treeTxn, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("error" as const), err: code }),
  fc.record({ type: fc.constant("error" as const), err: code, multiErrs: fc.array(code, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("createSession" as const), timeoutMs: fc.integer({ min: 0, max: 0xffff_ffff }), password: data }),
  fc.record({ type: fc.constant("closeSession" as const), ephemerals: strs }),
  fc.record({ type: fc.constant("sync" as const), path: str }),
);
const txn: fc.Arbitrary<Txn> = fc.record({
  hdr: fc.record({ zxid, time: fc.maxSafeNat(), sessionId: fc.maxSafeNat().map(asSessionId), cxid: i32 }),
  body: txnBody,
});

// ------------------------------------------------------------------------------------- tables

const b = (s: string) => new TextEncoder().encode(s);
const EMPTY = new Uint8Array(0);
const ACL: Acl[] = [{ perms: 31, scheme: "world", id: "anyone" }, { perms: 1, scheme: "digest", id: "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" }];
const STAT: Stat = {
  czxid: asZxid(0x1_0000_0001), mzxid: asZxid(0x1_0000_0005), ctime: 1_700_000_000_000, mtime: 1_700_000_000_500, version: 3, cversion: 2, aversion: 1,
  ephemeralOwner: 0x2_0000_0009, dataLength: 0, numChildren: 2, pzxid: asZxid(0x1_0000_0004),
};

/** Each optional field set and unset, and the edges of each number, by name. */
const REQUEST_CASES: Array<[string, Request]> = [
  ["create, null data", { type: "create", path: "/n", data: EMPTY, acl: ACL, mode: CreateMode.PERSISTENT, ttlMs: 0, nullData: true }],
  ["create, zero bytes", { type: "create", path: "/e", data: EMPTY, acl: ACL, mode: CreateMode.PERSISTENT, ttlMs: 0 }],
  ["create, longest TTL", { type: "create", path: "/t", data: b("v"), acl: ACL, mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttlMs: TTL_MS_MAX }],
  ["create, no ACL", { type: "create", path: "/a", data: b("v"), acl: [], mode: CreateMode.CONTAINER, ttlMs: 0 }],
  ["setData, null data", { type: "setData", path: "/n", data: EMPTY, version: -1, nullData: true }],
  ["setData, zero bytes", { type: "setData", path: "/e", data: EMPTY, version: 0x7fff_ffff }],
  ["setACL, duplicates kept as sent (the leader removes them)", { type: "setACL", path: "/a", acl: [ACL[0]!, ACL[0]!], version: -0x8000_0000 }],
  [
    "multi, null data inside",
    {
      type: "multi",
      ops: [
        { type: "create", path: "/m", data: EMPTY, acl: [ACL[0]!, ACL[0]!], mode: CreateMode.EPHEMERAL, ttlMs: 0, nullData: true },
        { type: "create", path: "/m2", data: EMPTY, acl: ACL, mode: CreateMode.PERSISTENT, ttlMs: 0 },
        { type: "setData", path: "/m", data: EMPTY, version: -1, nullData: true },
        { type: "setData", path: "/m2", data: b("x"), version: 0 },
        { type: "check", path: "/m", version: 1 },
        { type: "delete", path: "/m2", version: -1 },
      ],
    },
  ],
  ["sync", { type: "sync", path: "/" }],
  ["setWatches with persistent lists", { type: "setWatches", relativeZxid: asZxid(2 ** 53 - 1), dataWatches: ["/a"], existWatches: [], childWatches: ["/c"], persistentWatches: ["/p"], persistentRecursiveWatches: ["/r", "/s"] }],
  ["setWatches without", { type: "setWatches", relativeZxid: asZxid(0), dataWatches: [], existWatches: ["/b"], childWatches: [] }],
  ["removeWatches, check only", { type: "removeWatches", path: "/a", watcherType: WatcherType.PersistentRecursive, checkOnly: true }],
  ["addWatch recursive", { type: "addWatch", path: "/a", mode: AddWatchMode.PERSISTENT_RECURSIVE }],
  ["getEphemerals, empty prefix", { type: "getEphemerals", prefix: "" }],
  ["multiRead", { type: "multiRead", ops: [{ type: "getData", path: "/a" }, { type: "getChildren", path: "/b" }] }],
];

describe("a follower's forwarded write reaches the leader whole", () => {
  it.each(REQUEST_CASES.filter(([, r]) => (WRITE_TYPES as readonly string[]).includes(r.type)))("forward: %s", (_name, request) => {
    const msg = forward(request);
    expect(viaPeer(msg)).toEqual(msg);
  });

  it("forward: a connection's registration (bind, auth, unbind)", () => {
    const sessionId = asSessionId(2 ** 40 + 3);
    for (const req of [
      { type: "bind", sessionId, conn: 2 ** 32 - 1, address: "::ffff:10.1.2.3" },
      { type: "bind", sessionId, conn: 1, address: "10.1.2.3", certificate: "CN=alice,O=acme" },
      { type: "auth", sessionId, conn: 7, scheme: "digest", auth: b("alice:secret") },
      { type: "auth", sessionId, conn: 7, scheme: "digest", auth: EMPTY },
      { type: "unbind", sessionId, conn: 7 },
    ] satisfies ForwardedRequest[]) {
      const msg: PeerMessage = { type: "forward", epoch: 2, req };
      expect(viaPeer(msg)).toEqual(msg);
    }
  });

  it("forward: every write request, every field (property)", () => {
    fc.assert(
      fc.property(fc.oneof(...WRITE_TYPES.map((t) => REQUESTS[t] as fc.Arbitrary<Request>)), conn, fc.maxSafeNat(), i32, fc.integer({ min: 0, max: 0x1f_ffff }), (request, c, sid, cxid, epoch) => {
        const msg: PeerMessage = { type: "forward", epoch, req: { type: "write", sessionId: asSessionId(sid), conn: c, cxid, request: request as WriteRequest } };
        expect(viaPeer(msg)).toEqual(msg);
      }),
      RUNS,
    );
  });

  it("forward: createSession and closeSession", () => {
    const create: PeerMessage = { type: "forward", epoch: 9, req: { type: "createSession", token: -5, timeoutMs: 30_000, password: b("0123456789abcdef") } };
    const close: PeerMessage = { type: "forward", epoch: 9, req: { type: "closeSession", sessionId: asSessionId(2 ** 53 - 1), cxid: 7 } };
    expect(viaPeer(create)).toEqual(create);
    expect(viaPeer(close)).toEqual(close);
  });

  it("a forward of any other Request type (a read, a watch, an auth) is refused on arrival (property)", () => {
    fc.assert(
      fc.property(fc.oneof(...NATIVE_TYPES.filter((t) => !(WRITE_TYPES as readonly string[]).includes(t)).map((t) => REQUESTS[t] as fc.Arbitrary<Request>)), (request) => {
        expect(() => viaPeer(forward(request))).toThrow(/request is never forwarded/);
      }),
      RUNS,
    );
  });

  it("an auth is never taken from a peer (it is answered where the connection is); on the native protocol it travels", () => {
    expect(() => viaPeer(forward({ type: "auth", scheme: "digest", auth: b("alice:secret") }))).toThrow(/a auth request is never forwarded/);
    expect(() => encodeServerMessage({ kind: "response", xid: 1, zxid: asZxid(1), err: 0, result: { type: "auth" } })).not.toThrow();
  });

});

describe("the leader's transactions reach the followers whole", () => {
  it.each<[string, TxnBody]>([
    ["create, null data", { type: "create", path: "/n", data: EMPTY, acl: ACL, ephemeralOwner: 0, nullData: true }],
    ["create of a container", { type: "create", path: "/c", data: EMPTY, acl: ACL, ephemeralOwner: CONTAINER_OWNER }],
    ["create with the longest TTL", { type: "create", path: "/t", data: b("v"), acl: ACL, ephemeralOwner: ttlOwner(TTL_MS_MAX) }],
    ["setData, null data", { type: "setData", path: "/n", data: EMPTY, version: 4, nullData: true }],
    [
      "multi, null data inside",
      {
        type: "multi",
        ops: [
          { type: "create", path: "/m", data: EMPTY, acl: ACL, ephemeralOwner: 0x2_0000_0009, nullData: true },
          { type: "setData", path: "/m", data: EMPTY, version: 1, nullData: true },
        ],
      },
    ],
  ])("proposal: %s", (_name, body) => {
    const msg: PeerMessage = { type: "proposal", epoch: 2, txn: { hdr: { zxid: asZxid(0x2_0000_0001), time: 1_700_000_000_000, sessionId: asSessionId(0x2_0000_0009), cxid: 3 }, body } };
    expect(viaPeer(msg)).toEqual(msg);
  });

  it("proposal and diff: every transaction, every field (property)", () => {
    fc.assert(
      fc.property(txn, fc.array(txn, { maxLength: 3 }), (t, ts) => {
        const proposal: PeerMessage = { type: "proposal", epoch: 1, txn: t };
        const diff: PeerMessage = { type: "diff", syncId: 4, txns: ts };
        expect(viaPeer(proposal)).toEqual(proposal);
        expect(viaPeer(diff)).toEqual(diff);
      }),
      RUNS,
    );
  });
});

describe("native requests and results survive the client link", () => {
  it.each(REQUEST_CASES)("request: %s", (_name, request) => {
    const msg = { kind: "request" as const, xid: 17, request };
    expect(plain(decodeClientMessage(encodeClientMessage(msg)))).toEqual(msg);
  });

  it("request: every type, every field (property)", () => {
    fc.assert(
      fc.property(fc.oneof(...NATIVE_TYPES.map((t) => REQUESTS[t] as fc.Arbitrary<Request>)), i32, (request, xid) => {
        const msg = { kind: "request" as const, xid, request };
        expect(plain(decodeClientMessage(encodeClientMessage(msg)))).toEqual(msg);
      }),
      RUNS,
    );
  });

  const RESULT_CASES: Array<[string, Result]> = [
    ["getData, null data", { type: "getData", data: EMPTY, stat: STAT, nullData: true }],
    ["getData, zero bytes", { type: "getData", data: EMPTY, stat: STAT }],
    ["exists of a container", { type: "exists", stat: { ...STAT, ephemeralOwner: CONTAINER_OWNER } }],
    ["exists of a TTL node", { type: "exists", stat: { ...STAT, ephemeralOwner: ttlOwner(TTL_MS_MAX) } }],
    [
      "multiRead, null data inside",
      { type: "multiRead", results: [{ type: "getData", data: EMPTY, stat: STAT, nullData: true }, { type: "getData", data: EMPTY, stat: STAT }, { type: "getChildren", children: [] }, { type: "error", err: Code.NONODE }] },
    ],
    ["multi with rolled-back ops", { type: "multi", results: [{ type: "error", err: Code.OK }, { type: "error", err: Code.BADVERSION }, { type: "error", err: Code.RUNTIMEINCONSISTENCY }] }],
    ["getACL", { type: "getACL", acl: ACL, stat: STAT }],
    ["whoAmI", { type: "whoAmI", clientInfo: [{ authScheme: "ip", user: "127.0.0.1" }, { authScheme: "digest", user: "alice" }] }],
    ["getEphemerals", { type: "getEphemerals", paths: ["/e1", "/e2"] }],
    ["getAllChildrenNumber", { type: "getAllChildrenNumber", count: 0x7fff_ffff }],
  ];

  it.each(RESULT_CASES)("result: %s", (_name, result) => {
    const msg = { kind: "response" as const, xid: 8, zxid: asZxid(0x1_0000_0020), err: Code.OK, result };
    expect(plain(decodeServerMessage(encodeServerMessage(msg)))).toEqual(msg);
  });

  // auth is answered on the ZooKeeper wire only: the native codec refuses it both ways.
  it.each((Object.keys(RESULTS) as Array<Result["type"]>).filter((t) => t !== "auth"))("result: every field of %s (property)", (type) => {
    fc.assert(
      fc.property(RESULTS[type] as fc.Arbitrary<Result>, i32, zxid, code, (result, xid, z, err) => {
        const msg = { kind: "response" as const, xid, zxid: z, err, result };
        expect(plain(decodeServerMessage(encodeServerMessage(msg)))).toEqual(msg);
      }),
      { numRuns: 100 },
    );
  });
});

describe("a commit carries the leader's digest", () => {
  it("commit: the digest survives the wire, and a commit without one (an older leader) decodes without one", () => {
    expect(viaPeer({ type: "commit", epoch: 4, zxid: asZxid(0x4_0000_0009), digest: "0123456789abcdef" })).toEqual({ type: "commit", epoch: 4, zxid: 0x4_0000_0009, digest: "0123456789abcdef" });
    expect(viaPeer({ type: "commit", epoch: 4, zxid: asZxid(7) })).toEqual({ type: "commit", epoch: 4, zxid: 7 });
  });
});

// The broadcast's messages take a hand-written codec (peer-hot-codec.ts). It must write what the
// schema's reflection codec writes, byte for byte, and read what reflection writes: a mixed
// ensemble (an older node, or a reflection fallback) sees no difference.
describe("the hand-written broadcast codec is the schema's codec", () => {
  const PeerFrame = protoRoot.lookupType("keeper.PeerFrame");
  const reflect = (obj: Record<string, unknown>): Uint8Array => PeerFrame.encode(PeerFrame.fromObject(obj)).finish();
  const epoch = fc.integer({ min: 0, max: 0xffff_ffff });
  const zxid = fc.nat({ max: Number.MAX_SAFE_INTEGER });
  const hot: fc.Arbitrary<PeerMessage> = fc.oneof<fc.Arbitrary<PeerMessage>[]>(
    fc.record({ type: fc.constant("proposal" as const), epoch, txn }),
    fc
      .record({ epoch, zxid: zxid.map(asZxid), digest: fc.option(fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 1, maxLength: 16 }), { nil: undefined }) })
      .map(({ digest, ...c }): PeerMessage => (digest === undefined ? { type: "commit", ...c } : { type: "commit", ...c, digest })),
    fc.record({ type: fc.constant("ack" as const), syncId: fc.nat(), epoch, zxid: zxid.map(asZxid) }),
  );
  const wire = (m: PeerMessage): Record<string, unknown> => {
    if (m.type === "proposal") return { proposal: { epoch: m.epoch, txn: encodeTxn(m.txn) } };
    const { type, ...rest } = m;
    return { [type]: rest };
  };

  it("proposal, commit and ack: the same bytes both ways, and each decodes the other (property)", () => {
    fc.assert(
      fc.property(hot, (m) => {
        const mine = encodePeerFrame({ kind: "message", msg: m });
        const theirs = reflect(wire(m));
        expect(Buffer.from(mine).toString("hex")).toBe(Buffer.from(theirs).toString("hex"));
        expect(plain(decodePeerFrame(theirs))).toEqual({ kind: "message", msg: m });
      }),
      RUNS,
    );
  });

  it("a batch: the same bytes as reflection's PeerBatch, and a batch of any messages decodes in order (property)", () => {
    fc.assert(
      fc.property(fc.array(hot, { maxLength: 5 }), (ms) => {
        const frames = ms.map((m) => encodePeerFrame({ kind: "message", msg: m }));
        const mine = encodePeerFrame({ kind: "batch", frames });
        expect(Buffer.from(mine).toString("hex")).toBe(Buffer.from(reflect({ batch: { frames } })).toString("hex"));
        const ping: PeerMessage = { type: "ping", epoch: 3, commitZxid: asZxid(9), sessions: [asSessionId(5)] };
        const mixed = encodePeerFrame({ kind: "batch", frames: [...frames, encodePeerFrame({ kind: "message", msg: ping })] });
        expect(plain(decodePeerFrame(mixed))).toEqual({ kind: "batch", messages: [...ms, ping] });
      }),
      RUNS,
    );
  });

  it("malformed input is a FrameError, never a crash or a half message", () => {
    const good = encodePeerFrame({ kind: "message", msg: { type: "ack", syncId: 1, epoch: 2, zxid: asZxid(3) } });
    for (let cut = 1; cut < good.length; cut++) expect(() => decodePeerFrame(good.subarray(0, cut))).toThrow(FrameError);
    const inner = encodePeerFrame({ kind: "batch", frames: [good] });
    expect(() => decodePeerFrame(encodePeerFrame({ kind: "batch", frames: [inner] }))).toThrow(/batch inside a batch/);
    const hello = encodePeerFrame({ kind: "welcome" });
    expect(() => decodePeerFrame(encodePeerFrame({ kind: "batch", frames: [hello] }))).toThrow(/welcome inside a batch/);
    // A zxid above 2^53 cannot be a number without losing bits.
    const maxVarint = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // 2^64 - 1
    const big = Uint8Array.from([(14 << 3) | 2, 1 + maxVarint.length, (2 << 3) | 0, ...maxVarint]);
    expect(() => decodePeerFrame(big)).toThrow(FrameError);
  });
});

describe("the digest tally and resync travel between peers", () => {
  const cases: Array<[string, PeerMessage]> = [
    ["upToDate with the leader's digest", { type: "upToDate", syncId: 3, epoch: 2, commitZxid: asZxid(0x2_0000_0004), digest: "00ff00ff00ff00ff.0000000100000002" }],
    ["upToDate without one (an older leader)", { type: "upToDate", syncId: 3, epoch: 2, commitZxid: asZxid(5) }],
    ["a ping with digest reports", { type: "ping", epoch: 2, commitZxid: asZxid(9), sessions: [], digests: [{ zxid: asZxid(8), digest: "a.b" }, { zxid: asZxid(9), digest: "c.d" }] }],
    ["a ping without reports", { type: "ping", epoch: 2, commitZxid: asZxid(9), sessions: [asSessionId(0x2_0000_0001)] }],
    ["a leader's ping with its digest", { type: "ping", epoch: 2, commitZxid: asZxid(9), sessions: [], digest: "0011223344556677.8899aabbccddeeff" }],
    ["resync", { type: "resync", epoch: 7, zxid: asZxid(0x7_0000_0002) }],
    ["a resyncing follower's info", { type: "followerInfo", syncId: 1, acceptedEpoch: 6, lastZxid: asZxid(0), resyncing: true }],
    ["a follower's info", { type: "followerInfo", syncId: 1, acceptedEpoch: 6, lastZxid: asZxid(3) }],
    ["a resyncing node's vote", { type: "notification", vote: { leader: asServerId(2), zxid: asZxid(0), epoch: 6 }, round: 4, state: "looking", resyncing: true }],
  ];
  it.each(cases)("%s", (_name, msg) => {
    expect(viaPeer(msg)).toEqual(msg);
  });
});
