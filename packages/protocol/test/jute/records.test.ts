// Records: bytes worked out by hand from zookeeper.jute, and round trips of every record.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AclRecord,
  AddWatchRequestRecord,
  AuthPacketRecord,
  CheckVersionRequestRecord,
  CheckWatchesRequestRecord,
  ClientInfoRecord,
  CONTAINER_EPHEMERAL_OWNER,
  ConnectRequestRecord,
  ConnectResponseRecord,
  Create2ResponseRecord,
  CreateRequestRecord,
  CreateResponseRecord,
  CreateTTLRequestRecord,
  DeleteRequestRecord,
  ErrorResponseRecord,
  ExistsRequestRecord,
  ExistsResponseRecord,
  GetACLRequestRecord,
  GetACLResponseRecord,
  GetAllChildrenNumberRequestRecord,
  GetAllChildrenNumberResponseRecord,
  GetChildren2RequestRecord,
  GetChildren2ResponseRecord,
  GetChildrenRequestRecord,
  GetChildrenResponseRecord,
  GetDataRequestRecord,
  GetDataResponseRecord,
  GetEphemeralsRequestRecord,
  GetEphemeralsResponseRecord,
  IdRecord,
  JuteError,
  MultiHeaderRecord,
  RemoveWatchesRequestRecord,
  ReplyHeaderRecord,
  RequestHeaderRecord,
  SetACLRequestRecord,
  SetACLResponseRecord,
  SetDataRequestRecord,
  SetDataResponseRecord,
  SetWatches2Record,
  SetWatchesRecord,
  StatRecord,
  SyncRequestRecord,
  SyncResponseRecord,
  WatcherEventRecord,
  WhoAmIResponseRecord,
  decodeJuteRecord,
  encodeJuteRecord,
  ephemeralOwnerKind,
  ttlEphemeralOwner,
  TTL_MAX_MS,
  JuteWatcherType,
  type JuteRecord,
  type JuteStat,
} from "../../src/index.ts";
import { acl, acls, bytes, clientInfo, hex, int32, long, nullableBytes, stat, str, strs, toHex } from "./arbitraries.ts";

describe("golden bytes", () => {
  it("ConnectRequest as a 3.4+ client sends it", () => {
    const req = { protocolVersion: 0, lastZxidSeen: 0x1_0000_0005n, timeOut: 30_000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false };
    const expected =
      "00000000" + // protocolVersion
      "0000000100000005" + // lastZxidSeen
      "00007530" + // timeOut 30000
      "0000000000000000" + // sessionId
      "00000010" + "00".repeat(16) + // passwd: length 16, 16 zero bytes
      "00"; // readOnly false
    expect(toHex(encodeJuteRecord(ConnectRequestRecord, req))).toBe(expected);
    expect(decodeJuteRecord(ConnectRequestRecord, hex(expected))).toEqual(req);
  });

  it("ReplyHeader {xid 7, zxid 0x10000002a, err NONODE}", () => {
    const expected = "00000007" + "000000010000002a" + "ffffff9b";
    expect(toHex(encodeJuteRecord(ReplyHeaderRecord, { xid: 7, zxid: 0x1_0000_002an, err: -101 }))).toBe(expected);
  });

  it("Stat of a container znode", () => {
    const s: JuteStat = {
      czxid: 0x1_0000_0001n,
      mzxid: 0x1_0000_0002n,
      ctime: 1_700_000_000_000n,
      mtime: 1_700_000_000_001n,
      version: 2,
      cversion: -1,
      aversion: 0,
      ephemeralOwner: CONTAINER_EPHEMERAL_OWNER,
      dataLength: 5,
      numChildren: 3,
      pzxid: 0x1_0000_0003n,
    };
    const expected =
      "0000000100000001" + "0000000100000002" + // czxid, mzxid
      "0000018bcfe56800" + "0000018bcfe56801" + // ctime, mtime (0x18bcfe56800 = 1.7e12)
      "00000002" + "ffffffff" + "00000000" + // version, cversion, aversion
      "8000000000000000" + // ephemeralOwner = Long.MIN_VALUE
      "00000005" + "00000003" + // dataLength, numChildren
      "0000000100000003"; // pzxid
    expect(toHex(encodeJuteRecord(StatRecord, s))).toBe(expected);
    expect(hex(expected).length).toBe(68);
    expect(decodeJuteRecord(StatRecord, hex(expected))).toEqual(s);
  });

  it("CreateRequest with world:anyone", () => {
    const expected =
      "00000002" + "2f61" + // path "/a"
      "00000001" + "78" + // data "x"
      "00000001" + // one ACL
      "0000001f" + "00000005" + "776f726c64" + "00000006" + "616e796f6e65" + // perms 31, "world", "anyone"
      "00000001"; // flags EPHEMERAL
    const v = { path: "/a", data: new Uint8Array([0x78]), acl: [{ perms: 31, scheme: "world", id: "anyone" }], flags: 1 };
    expect(toHex(encodeJuteRecord(CreateRequestRecord, v))).toBe(expected);
  });

  it("MultiHeader terminator", () => {
    expect(toHex(encodeJuteRecord(MultiHeaderRecord, { type: -1, done: true, err: -1 }))).toBe("ffffffff01ffffffff");
  });
});

describe("ConnectRequest/ConnectResponse optional readOnly", () => {
  const base = { protocolVersion: 0, lastZxidSeen: 5n, timeOut: 4000, sessionId: 0x1234n, passwd: new Uint8Array([1, 2]) };

  it("decodes a pre-3.4 request without the trailing byte and leaves readOnly absent", () => {
    const bytes = encodeJuteRecord(ConnectRequestRecord, base);
    expect(bytes.length).toBe(4 + 8 + 4 + 8 + 4 + 2);
    const got = decodeJuteRecord(ConnectRequestRecord, bytes);
    expect(got).toEqual(base);
    expect("readOnly" in got).toBe(false);
  });

  it.each([true, false])("decodes readOnly=%s when the byte is present", (ro) => {
    const got = decodeJuteRecord(ConnectRequestRecord, encodeJuteRecord(ConnectRequestRecord, { ...base, readOnly: ro }));
    expect(got.readOnly).toBe(ro);
  });

  it("the response follows the same rule", () => {
    const rsp = { protocolVersion: 0, timeOut: 4000, sessionId: -1n, passwd: new Uint8Array(16) };
    expect(decodeJuteRecord(ConnectResponseRecord, encodeJuteRecord(ConnectResponseRecord, rsp))).toEqual(rsp);
    expect(decodeJuteRecord(ConnectResponseRecord, encodeJuteRecord(ConnectResponseRecord, { ...rsp, readOnly: true })).readOnly).toBe(true);
  });

  it("a null password decodes as empty; a truncated password throws", () => {
    const w = encodeJuteRecord(ConnectRequestRecord, { ...base, passwd: new Uint8Array(0) });
    w.set(hex("ffffffff"), 24);
    expect(decodeJuteRecord(ConnectRequestRecord, w).passwd).toEqual(new Uint8Array(0));
    const full = encodeJuteRecord(ConnectRequestRecord, base);
    expect(() => decodeJuteRecord(ConnectRequestRecord, full.subarray(0, full.length - 1))).toThrow(JuteError);
  });
});

describe("round trips", () => {
  const create = fc.record({ path: str, data: nullableBytes, acl: acls, flags: int32 });
  const pathVersion = fc.record({ path: str, version: int32 });
  const pathWatch = fc.record({ path: str, watch: fc.boolean() });
  const path = fc.record({ path: str });
  const watches = { relativeZxid: long, dataWatches: strs, existWatches: strs, childWatches: strs };
  // Each jute record with a generator for its values.
  const c = <T>(name: string, record: JuteRecord<T>, arb: fc.Arbitrary<T>) => [name, record, arb] as [string, JuteRecord<unknown>, fc.Arbitrary<unknown>];
  const cases: Array<[string, JuteRecord<unknown>, fc.Arbitrary<unknown>]> = [
    c("Id", IdRecord, fc.record({ scheme: str, id: str })),
    c("ACL", AclRecord, acl),
    c("Stat", StatRecord, stat),
    c("ClientInfo", ClientInfoRecord, clientInfo),
    c("ConnectRequest", ConnectRequestRecord, fc.record({ protocolVersion: int32, lastZxidSeen: long, timeOut: int32, sessionId: long, passwd: bytes, readOnly: fc.boolean() }, { requiredKeys: ["protocolVersion", "lastZxidSeen", "timeOut", "sessionId", "passwd"] })),
    c("ConnectResponse", ConnectResponseRecord, fc.record({ protocolVersion: int32, timeOut: int32, sessionId: long, passwd: bytes, readOnly: fc.boolean() }, { requiredKeys: ["protocolVersion", "timeOut", "sessionId", "passwd"] })),
    c("RequestHeader", RequestHeaderRecord, fc.record({ xid: int32, type: int32 })),
    c("ReplyHeader", ReplyHeaderRecord, fc.record({ xid: int32, zxid: long, err: int32 })),
    c("WatcherEvent", WatcherEventRecord, fc.record({ type: int32, state: int32, path: str })),
    c("AuthPacket", AuthPacketRecord, fc.record({ type: int32, scheme: str, auth: bytes })),
    c("SetWatches", SetWatchesRecord, fc.record(watches)),
    c("SetWatches2", SetWatches2Record, fc.record({ ...watches, persistentWatches: strs, persistentRecursiveWatches: strs })),
    c("ErrorResponse", ErrorResponseRecord, fc.record({ err: int32 })),
    c("MultiHeader", MultiHeaderRecord, fc.record({ type: int32, done: fc.boolean(), err: int32 })),
    c("CreateRequest", CreateRequestRecord, create),
    c("CreateTTLRequest", CreateTTLRequestRecord, fc.record({ path: str, data: nullableBytes, acl: acls, flags: int32, ttl: long })),
    c("DeleteRequest", DeleteRequestRecord, pathVersion),
    c("CheckVersionRequest", CheckVersionRequestRecord, pathVersion),
    c("ExistsRequest", ExistsRequestRecord, pathWatch),
    c("GetDataRequest", GetDataRequestRecord, pathWatch),
    c("GetChildrenRequest", GetChildrenRequestRecord, pathWatch),
    c("GetChildren2Request", GetChildren2RequestRecord, pathWatch),
    c("GetACLRequest", GetACLRequestRecord, path),
    c("SyncRequest", SyncRequestRecord, path),
    c("SyncResponse", SyncResponseRecord, path),
    c("CreateResponse", CreateResponseRecord, path),
    c("GetAllChildrenNumberRequest", GetAllChildrenNumberRequestRecord, path),
    c("SetDataRequest", SetDataRequestRecord, fc.record({ path: str, data: nullableBytes, version: int32 })),
    c("SetACLRequest", SetACLRequestRecord, fc.record({ path: str, acl: acls, version: int32 })),
    c("GetEphemeralsRequest", GetEphemeralsRequestRecord, fc.record({ prefixPath: str })),
    c("AddWatchRequest", AddWatchRequestRecord, fc.record({ path: str, mode: int32 })),
    c("RemoveWatchesRequest", RemoveWatchesRequestRecord, fc.record({ path: str, type: int32 })),
    c("CheckWatchesRequest", CheckWatchesRequestRecord, fc.record({ path: str, type: int32 })),
    c("Create2Response", Create2ResponseRecord, fc.record({ path: str, stat })),
    c("ExistsResponse", ExistsResponseRecord, fc.record({ stat })),
    c("SetDataResponse", SetDataResponseRecord, fc.record({ stat })),
    c("SetACLResponse", SetACLResponseRecord, fc.record({ stat })),
    c("GetDataResponse", GetDataResponseRecord, fc.record({ data: nullableBytes, stat })),
    c("GetChildrenResponse", GetChildrenResponseRecord, fc.record({ children: strs })),
    c("GetChildren2Response", GetChildren2ResponseRecord, fc.record({ children: strs, stat })),
    c("GetACLResponse", GetACLResponseRecord, fc.record({ acl: acls, stat })),
    c("GetAllChildrenNumberResponse", GetAllChildrenNumberResponseRecord, fc.record({ totalNumber: int32 })),
    c("GetEphemeralsResponse", GetEphemeralsResponseRecord, fc.record({ ephemerals: strs })),
    c("WhoAmIResponse", WhoAmIResponseRecord, fc.record({ clientInfo: fc.array(clientInfo, { maxLength: 3 }) })),
  ];

  it.each(cases)("%s", (_name, record, arb) => {
    fc.assert(
      fc.property(arb, (value) => {
        const bytes = encodeJuteRecord(record, value);
        expect(decodeJuteRecord(record, bytes)).toEqual(value);
        // Every strict prefix is malformed, except a ConnectRequest/Response cut just before readOnly.
        const optionalTail = (record === ConnectRequestRecord || record === ConnectResponseRecord) && "readOnly" in (value as object) ? 1 : 0;
        const accepted: number[] = [];
        for (let n = 0; n < bytes.length - optionalTail; n++) {
          try {
            decodeJuteRecord(record, bytes.subarray(0, n));
            accepted.push(n);
          } catch (e) {
            if (!(e instanceof JuteError)) throw e;
          }
        }
        expect(accepted).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it("decodes null vectors as empty lists and a null ephemerals prefix as empty", () => {
    expect(decodeJuteRecord(GetChildrenResponseRecord, hex("ffffffff"))).toEqual({ children: [] });
    expect(decodeJuteRecord(SetACLRequestRecord, hex("00000001 2f ffffffff 00000000"))).toEqual({ path: "/", acl: [], version: 0 });
    expect(decodeJuteRecord(GetEphemeralsRequestRecord, hex("ffffffff"))).toEqual({ prefixPath: "" });
  });

  it("rejects a null path and a null child name", () => {
    expect(() => decodeJuteRecord(DeleteRequestRecord, hex("ffffffff 00000000"))).toThrow(JuteError);
    expect(() => decodeJuteRecord(GetChildrenResponseRecord, hex("00000001 ffffffff"))).toThrow(JuteError);
  });
});

describe("EphemeralType encodings", () => {
  it("containers use Long.MIN_VALUE", () => {
    expect(CONTAINER_EPHEMERAL_OWNER).toBe(-0x8000_0000_0000_0000n);
    expect(ephemeralOwnerKind(CONTAINER_EPHEMERAL_OWNER)).toEqual({ kind: "container" });
  });

  it("TTL znodes put 0xff in the top byte and the TTL in the low 40 bits", () => {
    expect(ttlEphemeralOwner(1000n)).toBe(BigInt.asIntN(64, 0xff00_0000_0000_03e8n));
    expect(ephemeralOwnerKind(ttlEphemeralOwner(TTL_MAX_MS))).toEqual({ kind: "ttl", ttlMs: TTL_MAX_MS });
    expect(() => ttlEphemeralOwner(0n)).toThrow(RangeError);
    expect(() => ttlEphemeralOwner(TTL_MAX_MS + 1n)).toThrow(RangeError);
    expect(ephemeralOwnerKind(BigInt.asIntN(64, 0xff01_0000_0000_0001n))).toEqual({ kind: "invalid" });
  });

  it("sessions and no owner", () => {
    expect(ephemeralOwnerKind(0n)).toEqual({ kind: "none" });
    expect(ephemeralOwnerKind(0x1000_0000_0000_0001n)).toEqual({ kind: "session", sessionId: 0x1000_0000_0000_0001n });
  });

  it("watcher types match ZooKeeper 3.9", () => {
    expect(JuteWatcherType).toEqual({ Children: 1, Data: 2, Any: 3, Persistent: 4, PersistentRecursive: 5 });
  });
});
