// fast-check generators for every jute record and every request/reply shape.
import fc from "fast-check";
import type {
  JuteAcl,
  JuteClientInfo,
  JuteStat,
  ZkMultiOp,
  ZkMultiReadOp,
  ZkMultiReadResult,
  ZkMultiResult,
  ZkRequest,
  ZkResponseBody,
} from "../../src/index.ts";

export const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
export const long = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
export const str = fc.string({ unit: "binary", maxLength: 12 });
export const bytes = fc.uint8Array({ maxLength: 40 });
export const nullableBytes = fc.option(bytes, { nil: null });
export const strs = fc.array(str, { maxLength: 4 });

export const acl: fc.Arbitrary<JuteAcl> = fc.record({ perms: int32, scheme: str, id: str });
export const acls = fc.array(acl, { maxLength: 3 });
export const stat: fc.Arbitrary<JuteStat> = fc.record({
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: long,
  dataLength: int32,
  numChildren: int32,
  pzxid: long,
});
export const clientInfo: fc.Arbitrary<JuteClientInfo> = fc.record({ authScheme: str, user: str });

const create = fc.record({ path: str, data: nullableBytes, acl: acls, flags: int32 });
const createTTL = fc.record({ path: str, data: nullableBytes, acl: acls, flags: int32, ttl: long });
const pathVersion = fc.record({ path: str, version: int32 });
const pathWatch = fc.record({ path: str, watch: fc.boolean() });
const path = fc.record({ path: str });
const setData = fc.record({ path: str, data: nullableBytes, version: int32 });
const tag = <T extends string>(type: T) => fc.constant(type);
const tagged = <T extends string, R extends object>(type: T, arb: fc.Arbitrary<R>) => arb.map((r) => ({ type, ...r }) as { type: T } & R);

export const multiOp: fc.Arbitrary<ZkMultiOp> = fc.oneof(
  tagged("create", create),
  tagged("create2", create),
  tagged("createContainer", create),
  tagged("createTTL", createTTL),
  tagged("delete", pathVersion),
  tagged("setData", setData),
  tagged("check", pathVersion),
);
export const multiReadOp: fc.Arbitrary<ZkMultiReadOp> = fc.oneof(tagged("getData", pathWatch), tagged("getChildren", pathWatch));

const watches = { relativeZxid: long, dataWatches: strs, existWatches: strs, childWatches: strs };

/** Every known request, and unknown opcodes with an arbitrary body. */
export const request: fc.Arbitrary<ZkRequest> = fc.oneof(
  tagged("create", create),
  tagged("create2", create),
  tagged("createContainer", create),
  tagged("createTTL", createTTL),
  tagged("delete", pathVersion),
  tagged("deleteContainer", path),
  tagged("exists", pathWatch),
  tagged("getData", pathWatch),
  tagged("setData", setData),
  tagged("getACL", path),
  tagged("setACL", fc.record({ path: str, acl: acls, version: int32 })),
  tagged("getChildren", pathWatch),
  tagged("getChildren2", pathWatch),
  tagged("sync", path),
  tagged("check", pathVersion),
  tagged("multi", fc.record({ ops: fc.array(multiOp, { maxLength: 4 }) })),
  tagged("multiRead", fc.record({ ops: fc.array(multiReadOp, { maxLength: 4 }) })),
  tag("ping").map((type) => ({ type })),
  tag("closeSession").map((type) => ({ type })),
  tag("whoAmI").map((type) => ({ type })),
  tagged("auth", fc.record({ authType: int32, scheme: str, auth: bytes })),
  tagged("setWatches", fc.record(watches)),
  tagged("setWatches2", fc.record({ ...watches, persistentWatches: strs, persistentRecursiveWatches: strs })),
  tagged("getEphemerals", fc.record({ prefixPath: str })),
  tagged("getAllChildrenNumber", path),
  tagged("addWatch", fc.record({ path: str, mode: int32 })),
  tagged("removeWatches", fc.record({ path: str, watcherType: int32 })),
  tagged("checkWatches", fc.record({ path: str, watcherType: int32 })),
  tagged("unknown", fc.record({ opcode: fc.constantFrom(16, 102, 999, -10, 0, 10), body: bytes })),
);

const error = tagged("error", fc.record({ err: int32 }));
export const multiResult: fc.Arbitrary<ZkMultiResult> = fc.oneof(
  tagged("create", path),
  tagged("create2", fc.record({ path: str, stat })),
  tag("delete").map((type) => ({ type })),
  tagged("setData", fc.record({ stat })),
  tag("check").map((type) => ({ type })),
  error,
);
export const multiReadResult: fc.Arbitrary<ZkMultiReadResult> = fc.oneof(
  tagged("getData", fc.record({ data: nullableBytes, stat })),
  tagged("getChildren", fc.record({ children: strs })),
  error,
);

const empty = ["delete", "deleteContainer", "check", "ping", "closeSession", "auth", "setWatches", "setWatches2", "removeWatches", "checkWatches", "addWatch"] as const;

/** Every reply body. */
export const responseBody: fc.Arbitrary<ZkResponseBody> = fc.oneof(
  tagged("create", path),
  tagged("create2", fc.record({ path: str, stat })),
  tagged("createContainer", fc.record({ path: str, stat })),
  tagged("createTTL", fc.record({ path: str, stat })),
  tagged("exists", fc.record({ stat })),
  tagged("setData", fc.record({ stat })),
  tagged("setACL", fc.record({ stat })),
  tagged("getData", fc.record({ data: nullableBytes, stat })),
  tagged("getChildren", fc.record({ children: strs })),
  tagged("getChildren2", fc.record({ children: strs, stat })),
  tagged("getACL", fc.record({ acl: acls, stat })),
  tagged("sync", path),
  tagged("multi", fc.record({ results: fc.array(multiResult, { maxLength: 4 }) })),
  tagged("multiRead", fc.record({ results: fc.array(multiReadResult, { maxLength: 4 }) })),
  tagged("getAllChildrenNumber", fc.record({ totalNumber: int32 })),
  tagged("getEphemerals", fc.record({ ephemerals: strs })),
  tagged("whoAmI", fc.record({ clientInfo: fc.array(clientInfo, { maxLength: 3 }) })),
  fc.constantFrom(...empty).map((type) => ({ type })),
);

export const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/\s+/g, "").match(/../g) ?? []).map((h) => parseInt(h, 16)));
export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};
