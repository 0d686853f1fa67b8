// Jute nulls in every request the server decodes. A jute ustring, buffer or vector may be -1
// (null), and real clients send them: kazoo writes every empty string as a null ustring (so the
// `auth` entry of CREATOR_ALL_ACL arrives with a null id) and None data as a null buffer. A
// null in a data or ACL field decodes to what was encoded; a null where a value must be (a path,
// an element of a list of paths) is a JuteNullFieldError carrying the request's xid and opcode,
// which the server answers for that request alone; a null vector decodes as an empty list.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Code,
  FrameDecoder,
  JuteError,
  JuteNullFieldError,
  OpCode,
  decodeConnectRequest,
  decodeZkRequest,
  encodeConnectRequest,
  encodeZkRequest,
  type ZkRequest,
  type ZkRequestType,
} from "../../src/index.ts";
import { bytes, int32, long, str } from "./arbitraries.ts";

const RUNS = { numRuns: 1000 };

/** A request as encodeZkRequest takes it, except that any string, buffer or vector may be null. */
type Loose = { type: string } & Record<string, any>;

/** The body of an encoded frame (length prefix checked and stripped). */
function body(frame: Uint8Array): Uint8Array {
  const frames = new FrameDecoder().push(frame);
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

/** Encodes a request whose fields may be null: the writers emit -1 for every null. */
function encodeLoose(xid: number, req: Loose): Uint8Array {
  return body(encodeZkRequest(xid, req as unknown as ZkRequest));
}

const PATH_LISTS = ["dataWatches", "existWatches", "childWatches", "persistentWatches", "persistentRecursiveWatches"] as const;

/**
 * The field a decoder must refuse as null, first in reading order, or undefined when there is
 * none: a path (also of any op of a multi or multiRead), or an element of setWatches' path lists.
 */
function refusedNull(req: Loose): string | undefined {
  if (req.type === "multi" || req.type === "multiRead") return req.ops.some((op: Loose) => op.path === null) ? "path" : undefined;
  if (req.type === "setWatches" || req.type === "setWatches2") return PATH_LISTS.some((k) => Array.isArray(req[k]) && req[k].includes(null)) ? "vector element" : undefined;
  return "path" in req && req.path === null ? "path" : undefined;
}

/**
 * What the decoder gives for a request with no refused null. Data and ACL scheme/id stay null;
 * a null vector is an empty list; AuthPacket's scheme and auth and getEphemerals' prefix, whose
 * decoded types are not nullable, decode as empty (the server then answers as for empty ones).
 */
function decoded(req: Loose): Loose {
  const out: Loose = { ...req };
  if ("acl" in req) out.acl = req.acl ?? [];
  if (req.type === "multi") out.ops = req.ops.map(decoded);
  if (req.type === "auth") {
    out.scheme = req.scheme ?? "";
    out.auth = req.auth ?? new Uint8Array(0);
  }
  if (req.type === "getEphemerals") out.prefixPath = req.prefixPath ?? "";
  for (const k of PATH_LISTS) if (k in req) out[k] = req[k] ?? [];
  return out;
}

/** Decodes and checks the outcome against refusedNull/decoded: nothing else may be thrown. */
function checkDecode(xid: number, req: Loose): void {
  const frame = encodeLoose(xid, req);
  const opcode = OpCode[req.type as keyof typeof OpCode];
  const field = refusedNull(req);
  let got: unknown;
  try {
    got = decodeZkRequest(frame);
  } catch (e) {
    if (!(e instanceof JuteNullFieldError)) throw new Error(`${req.type}: ${String(e)} thrown, expected ${field === undefined ? "no error" : "JuteNullFieldError"}`, { cause: e });
    expect(field, `${req.type}: JuteNullFieldError(${e.field}) where no null is refused`).toBeDefined();
    expect(e).toBeInstanceOf(JuteError);
    expect({ field: e.field, xid: e.xid, opcode: e.opcode, code: e.code }).toEqual({ field, xid, opcode, code: Code.MARSHALLINGERROR });
    return;
  }
  expect(field, `${req.type}: a null ${field} decoded without an error`).toBeUndefined();
  expect(got).toEqual({ xid, opcode, request: decoded(req) });
}

// ------------------------------------------------------------------------------- arbitraries

const nullable = <T>(arb: fc.Arbitrary<T>, freq = 3) => fc.option(arb, { nil: null, freq });
const path = nullable(str, 5);
const data = nullable(bytes);
const acl = fc.record({ perms: int32, scheme: nullable(str), id: nullable(str) });
const acls = nullable(fc.array(acl, { maxLength: 3 }));
const paths = nullable(fc.array(nullable(str, 10), { maxLength: 3 }));
const tagged = <T extends string>(type: T, arb: fc.Arbitrary<object>): fc.Arbitrary<Loose> => arb.map((r) => ({ type, ...r }));

const create = fc.record({ path, data, acl: acls, flags: int32 });
const createTTL = fc.record({ path, data, acl: acls, flags: int32, ttl: long });
const pathVersion = fc.record({ path, version: int32 });
const pathWatch = fc.record({ path, watch: fc.boolean() });
const pathOnly = fc.record({ path });
const setData = fc.record({ path, data, version: int32 });
const multiOp = fc.oneof(
  tagged("create", create),
  tagged("create2", create),
  tagged("createContainer", create),
  tagged("createTTL", createTTL),
  tagged("delete", pathVersion),
  tagged("setData", setData),
  tagged("check", pathVersion),
);
const watches = { relativeZxid: long, dataWatches: paths, existWatches: paths, childWatches: paths };

/** Every request with a nullable field, each such field null now and then. */
const looseRequest: fc.Arbitrary<Loose> = fc.oneof(
  multiOp,
  tagged("deleteContainer", pathOnly),
  tagged("exists", pathWatch),
  tagged("getData", pathWatch),
  tagged("getACL", pathOnly),
  tagged("setACL", fc.record({ path, acl: acls, version: int32 })),
  tagged("getChildren", pathWatch),
  tagged("getChildren2", pathWatch),
  tagged("sync", pathOnly),
  tagged("multi", fc.record({ ops: fc.array(multiOp, { maxLength: 4 }) })),
  tagged("multiRead", fc.record({ ops: fc.array(fc.oneof(tagged("getData", pathWatch), tagged("getChildren", pathWatch)), { maxLength: 4 }) })),
  tagged("auth", fc.record({ authType: int32, scheme: nullable(str), auth: nullable(bytes) })),
  tagged("setWatches", fc.record(watches)),
  tagged("setWatches2", fc.record({ ...watches, persistentWatches: paths, persistentRecursiveWatches: paths })),
  tagged("getEphemerals", fc.record({ prefixPath: nullable(str) })),
  tagged("getAllChildrenNumber", pathOnly),
  tagged("addWatch", fc.record({ path, mode: int32 })),
  tagged("removeWatches", fc.record({ path, watcherType: int32 })),
  tagged("checkWatches", fc.record({ path, watcherType: int32 })),
);

// ------------------------------------------------------------------------------------- tests

const ACL = { perms: 31, scheme: "world", id: "anyone" };
const d = new Uint8Array([1, 2, 3]);

const createOf = (type: string): Loose => ({ type, path: "/a", data: d, acl: [ACL], flags: 0 });
const CREATE_NULLS = ["path", "data", "acl", "acl.0.scheme", "acl.0.id"];

/**
 * Every request the server decodes, all fields set, and the fields that may arrive null. A
 * Record over ZkRequestType, so a request type added later fails the typecheck until it is here.
 */
const BASES: Record<Exclude<ZkRequestType, "unknown">, [Loose, string[]]> = {
  create: [createOf("create"), CREATE_NULLS],
  create2: [createOf("create2"), CREATE_NULLS],
  createContainer: [createOf("createContainer"), CREATE_NULLS],
  createTTL: [{ ...createOf("createTTL"), flags: 5, ttl: 1000n }, CREATE_NULLS],
  delete: [{ type: "delete", path: "/a", version: -1 }, ["path"]],
  check: [{ type: "check", path: "/a", version: -1 }, ["path"]],
  deleteContainer: [{ type: "deleteContainer", path: "/a" }, ["path"]],
  getACL: [{ type: "getACL", path: "/a" }, ["path"]],
  sync: [{ type: "sync", path: "/a" }, ["path"]],
  getAllChildrenNumber: [{ type: "getAllChildrenNumber", path: "/a" }, ["path"]],
  exists: [{ type: "exists", path: "/a", watch: true }, ["path"]],
  getData: [{ type: "getData", path: "/a", watch: true }, ["path"]],
  getChildren: [{ type: "getChildren", path: "/a", watch: true }, ["path"]],
  getChildren2: [{ type: "getChildren2", path: "/a", watch: true }, ["path"]],
  setData: [{ type: "setData", path: "/a", data: d, version: 3 }, ["path", "data"]],
  setACL: [{ type: "setACL", path: "/a", acl: [ACL, ACL], version: 0 }, ["path", "acl", "acl.1.scheme", "acl.1.id"]],
  multi: [
    {
      type: "multi",
      ops: [
        createOf("create"),
        { type: "setData", path: "/m", data: d, version: -1 },
        { ...createOf("createTTL"), flags: 5, ttl: 10n },
        { type: "check", path: "/m", version: 1 },
        { type: "delete", path: "/m", version: 1 },
      ],
    },
    ["ops.0.path", "ops.0.data", "ops.0.acl", "ops.0.acl.0.id", "ops.0.acl.0.scheme", "ops.1.path", "ops.1.data", "ops.2.data", "ops.2.acl", "ops.3.path", "ops.4.path"],
  ],
  multiRead: [{ type: "multiRead", ops: [{ type: "getData", path: "/a", watch: false }, { type: "getChildren", path: "/b", watch: false }] }, ["ops.0.path", "ops.1.path"]],
  auth: [{ type: "auth", authType: 0, scheme: "digest", auth: d }, ["scheme", "auth"]],
  setWatches: [{ type: "setWatches", relativeZxid: 5n, dataWatches: ["/a"], existWatches: ["/b"], childWatches: ["/c"] }, ["dataWatches", "existWatches", "childWatches", "dataWatches.0", "existWatches.0", "childWatches.0"]],
  setWatches2: [
    { type: "setWatches2", relativeZxid: 5n, dataWatches: ["/a"], existWatches: ["/b"], childWatches: ["/c"], persistentWatches: ["/p"], persistentRecursiveWatches: ["/r"] },
    ["dataWatches", "persistentWatches", "persistentRecursiveWatches", "dataWatches.0", "persistentWatches.0", "persistentRecursiveWatches.0"],
  ],
  getEphemerals: [{ type: "getEphemerals", prefixPath: "/a" }, ["prefixPath"]],
  addWatch: [{ type: "addWatch", path: "/a", mode: 1 }, ["path"]],
  removeWatches: [{ type: "removeWatches", path: "/a", watcherType: 3 }, ["path"]],
  checkWatches: [{ type: "checkWatches", path: "/a", watcherType: 3 }, ["path"]],
  ping: [{ type: "ping" }, []],
  closeSession: [{ type: "closeSession" }, []],
  whoAmI: [{ type: "whoAmI" }, []],
};

/** The value at the dotted path `at`. */
function valueAt(req: Loose, at: string): unknown {
  return at.split(".").reduce<any>((o, k) => o[k], req);
}

/** A deep copy of `req` with the field at the dotted `at` set to null. */
function withNull(req: Loose, at: string): Loose {
  const copy = structuredClone(req);
  const keys = at.split(".");
  let o: any = copy;
  for (const k of keys.slice(0, -1)) o = o[k];
  o[keys.at(-1)!] = null;
  return copy;
}

const CASES = Object.values(BASES).flatMap(([req, fields]) =>
  fields.map((f): [string, Loose] => {
    const q = withNull(req, f);
    const refused = refusedNull(q);
    const outcome = refused ? `JuteNullFieldError(${refused}) with its xid and opcode` : valueAt(decoded(q), f) === null ? "stays null" : "decodes as empty";
    return [`${req.type} with a null ${f}: ${outcome}`, q];
  }),
);

describe("jute nulls in requests", () => {
  it.each(Object.values(BASES).map(([req]) => [req.type, req] as const))("%s with no null round-trips", (_type, req) => {
    checkDecode(-8, req);
  });

  it.each(CASES)("%s", (_name, req) => {
    checkDecode(77, req);
  });

  it("a null auth id in CREATOR_ALL_ACL, as kazoo sends it, decodes as null", () => {
    const req: Loose = { type: "create", path: "/1/2", data: new TextEncoder().encode("v"), acl: [{ perms: 31, scheme: "auth", id: null }], flags: 0 };
    expect(decodeZkRequest(encodeLoose(5, req)).request).toEqual(req);
  });

  it("any request with nulls anywhere (property)", () => {
    fc.assert(fc.property(int32, looseRequest, checkDecode), RUNS);
  });

  it("a null ConnectRequest password decodes as empty", () => {
    const frame = body(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30_000, sessionId: 0n, passwd: null as unknown as Uint8Array, readOnly: false }));
    expect(decodeConnectRequest(frame)).toEqual({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30_000, sessionId: 0n, passwd: new Uint8Array(0), readOnly: false });
  });
});
