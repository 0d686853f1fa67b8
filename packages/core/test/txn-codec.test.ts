// The log's record format: every body round-trips, and bytes that are not a whole record are
// rejected with DecodeError, which is what recovery catches to find a torn tail.
import { Code, asSessionId, asZxid, makeZxid, type Acl } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError, decodeTxn, encodeTxn, type TreeTxn, type Txn, type TxnBody } from "../src/index.ts";
import { RUNS } from "./arbitraries.ts";

// Well-formed Unicode only: the format stores UTF-8, and prep rejects surrogates in paths.
const str = fc.string({ unit: "grapheme", maxLength: 12 });
const data = fc.uint8Array({ maxLength: 48 });
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const safeNat = fc.maxSafeNat();
const aclArb: fc.Arbitrary<Acl[]> = fc.array(fc.record({ perms: i32, scheme: str, id: str }), { maxLength: 3 });
const code = fc.constantFrom(...(Object.values(Code) as Code[]));

const treeTxn: fc.Arbitrary<TreeTxn> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: str, data, acl: aclArb, ephemeralOwner: safeNat.map(asSessionId) }),
  fc.record({ type: fc.constant("delete" as const), path: str }),
  fc.record({ type: fc.constant("setData" as const), path: str, data, version: i32 }),
  fc.record({ type: fc.constant("setACL" as const), path: str, acl: aclArb, aversion: i32 }),
  fc.record({ type: fc.constant("check" as const), path: str }),
);

const body: fc.Arbitrary<TxnBody> = fc.oneof(
  treeTxn,
  fc.record({ type: fc.constant("multi" as const), ops: fc.array(treeTxn, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("error" as const), err: code }),
  fc.record({ type: fc.constant("error" as const), err: code, multiErrs: fc.array(code, { maxLength: 5 }) }),
  fc.record({ type: fc.constant("createSession" as const), timeoutMs: u32, password: data }),
  fc.record({ type: fc.constant("closeSession" as const), ephemerals: fc.array(str, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("sync" as const), path: str }),
  fc.record({ type: fc.constant("setSequence" as const), path: str, cversion: i32 }),
);

const txn: fc.Arbitrary<Txn> = fc.record({
  hdr: fc.record({ zxid: safeNat.map(asZxid), time: safeNat, sessionId: safeNat.map(asSessionId), cxid: i32 }),
  body,
});

const hdr = { zxid: makeZxid(3, 17), time: 1_700_000_000_123, sessionId: asSessionId(0x1_0000_0001), cxid: 42 };
const b = (s: string) => new TextEncoder().encode(s);
const acl: Acl[] = [{ perms: 31, scheme: "world", id: "anyone" }];

/** One example of every TxnBody variant. */
const EXAMPLES: Array<[string, TxnBody]> = [
  ["create", { type: "create", path: "/a/b", data: b("hello"), acl, ephemeralOwner: asSessionId(7) }],
  ["delete", { type: "delete", path: "/a" }],
  ["setData", { type: "setData", path: "/a", data: new Uint8Array(0), version: 3 }],
  ["setACL", { type: "setACL", path: "/a", acl, aversion: 2 }],
  ["check", { type: "check", path: "/a" }],
  ["multi", { type: "multi", ops: [{ type: "delete", path: "/x" }, { type: "setData", path: "/y", data: b("z"), version: 1 }] }],
  ["error", { type: "error", err: Code.NONODE }],
  ["error with multiErrs", { type: "error", err: Code.BADVERSION, multiErrs: [Code.OK, Code.BADVERSION, Code.RUNTIMEINCONSISTENCY] }],
  ["createSession", { type: "createSession", timeoutMs: 30_000, password: b("pw") }],
  ["closeSession", { type: "closeSession", ephemerals: ["/e1", "/p/e2"] }],
  ["sync", { type: "sync", path: "/" }],
  ["setSequence", { type: "setSequence", path: "/q", cversion: 2_000_000_000 }],
];

describe("encodeTxn() / decodeTxn()", () => {
  it.each(EXAMPLES)("round-trips a %s body", (_name, body) => {
    const t: Txn = { hdr, body };
    expect(decodeTxn(encodeTxn(t))).toEqual(t);
  });

  it("round-trips arbitrary transactions (property)", () => {
    fc.assert(
      fc.property(txn, (t) => {
        expect(decodeTxn(encodeTxn(t))).toEqual(t);
      }),
      RUNS,
    );
  });

  it.each(EXAMPLES)("rejects a %s record truncated at every byte offset with DecodeError", (_name, body) => {
    const bytes = encodeTxn({ hdr, body });
    for (let n = 0; n < bytes.length; n++) expect(() => decodeTxn(bytes.subarray(0, n)), `cut at ${n}`).toThrow(DecodeError);
  });

  it("rejects arbitrary records truncated at a random offset with DecodeError (property)", () => {
    fc.assert(
      fc.property(txn, fc.nat(), (t, cut) => {
        const bytes = encodeTxn(t);
        expect(() => decodeTxn(bytes.subarray(0, cut % bytes.length))).toThrow(DecodeError);
      }),
      RUNS,
    );
  });

  it("rejects trailing bytes after a record (property)", () => {
    fc.assert(
      fc.property(txn, fc.uint8Array({ minLength: 1, maxLength: 8 }), (t, extra) => {
        const bytes = encodeTxn(t);
        const longer = new Uint8Array(bytes.length + extra.length);
        longer.set(bytes);
        longer.set(extra, bytes.length);
        expect(() => decodeTxn(longer)).toThrow(/trailing bytes/);
      }),
      RUNS,
    );
  });

  it("rejects an unknown format byte and an unknown body tag", () => {
    const bytes = encodeTxn({ hdr, body: { type: "sync", path: "/" } });
    const badFormat = bytes.slice();
    badFormat[0] = 99;
    expect(() => decodeTxn(badFormat)).toThrow(DecodeError);
    const badTag = bytes.slice();
    badTag[1 + 8 + 8 + 8 + 4] = 200;
    expect(() => decodeTxn(badTag)).toThrow(/unknown transaction tag/);
  });

  it("decodes from a subarray that does not start at offset 0 of its buffer", () => {
    const bytes = encodeTxn({ hdr, body: EXAMPLES[0]![1] });
    const padded = new Uint8Array(bytes.length + 5);
    padded.set(bytes, 3);
    expect(decodeTxn(padded.subarray(3, 3 + bytes.length))).toEqual({ hdr, body: EXAMPLES[0]![1] });
  });

  // Regression (fixed): a corrupted (not truncated) record can throw TypeError from the fatal TextDecoder in
  // ByteReader.str(). Recovery tells a damaged log from a program error by DecodeError, so
  // every malformed input should be a DecodeError.
  it("rejects invalid UTF-8 in a path with DecodeError", () => {
    const bytes = encodeTxn({ hdr, body: { type: "delete", path: "/ab" } });
    bytes[bytes.length - 1] = 0xff;
    expect(() => decodeTxn(bytes)).toThrow(DecodeError);
  });

  // Regression (fixed): ByteReader.num() accepts any safe integer, then asZxid()/asSessionId() throw RangeError
  // for a negative one; a corrupted header should be a DecodeError.
  it("rejects a negative zxid with DecodeError", () => {
    const bytes = encodeTxn({ hdr, body: { type: "sync", path: "/" } });
    new DataView(bytes.buffer, bytes.byteOffset).setFloat64(1, -1);
    expect(() => decodeTxn(bytes)).toThrow(DecodeError);
  });

  // Regression (fixed): readBody() casts whatever it reads inside a multi to TreeTxn, so a record holding
  // multi-in-multi or a session op in a multi decodes, and DataTree.apply() then dies on an
  // assertion. The decoder should refuse what encodeTxn() can never produce.
  it("rejects a multi that holds a non-tree op with DecodeError", () => {
    const bytes = encodeTxn({ hdr, body: { type: "multi", ops: [{ type: "sync", path: "/" } as unknown as TreeTxn] } });
    expect(() => decodeTxn(bytes)).toThrow(DecodeError);
  });
});
