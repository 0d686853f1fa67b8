// The server-side API: request frames in, reply and notification frames out.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AUTH_XID,
  Code,
  EventType,
  FrameDecoder,
  JuteError,
  KeeperState,
  NOTIFICATION_XID,
  OpCode,
  PING_XID,
  SET_WATCHES_XID,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReply,
  decodeWatchEvent,
  decodeZkRequest,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeReply,
  encodeWatchEvent,
  encodeZkRequest,
  zkRequestOpcode,
  type ZkRequest,
  type ZkResponseBody,
} from "../../src/index.ts";
import { concat, hex, int32, long, request, responseBody, toHex } from "./arbitraries.ts";

const RUNS = { numRuns: 400 };

/** Strips and checks the length prefix of an encoded frame. */
function body(frame: Uint8Array): Uint8Array {
  const frames = new FrameDecoder().push(frame);
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

describe("special xids", () => {
  it("match ClientCnxn", () => {
    expect([NOTIFICATION_XID, PING_XID, AUTH_XID, SET_WATCHES_XID]).toEqual([-1, -2, -4, -8]);
  });
});

describe("requests", () => {
  it("every request survives encodeZkRequest → FrameDecoder → decodeZkRequest", () => {
    fc.assert(
      fc.property(int32, request, (xid, req) => {
        const got = decodeZkRequest(body(encodeZkRequest(xid, req)));
        expect(got).toEqual({ xid, opcode: zkRequestOpcode(req), request: req });
      }),
      RUNS,
    );
  });

  it("uses ZooKeeper's opcodes", () => {
    const expected: Record<string, number> = {
      create: 1, delete: 2, exists: 3, getData: 4, setData: 5, getACL: 6, setACL: 7, getChildren: 8, sync: 9, ping: 11,
      getChildren2: 12, check: 13, multi: 14, create2: 15, checkWatches: 17, removeWatches: 18, createContainer: 19,
      deleteContainer: 20, createTTL: 21, multiRead: 22, auth: 100, setWatches: 101, getEphemerals: 103,
      getAllChildrenNumber: 104, setWatches2: 105, addWatch: 106, whoAmI: 107, closeSession: -11,
    };
    for (const [type, opcode] of Object.entries(expected)) expect(zkRequestOpcode({ type } as ZkRequest)).toBe(opcode);
  });

  it("golden: ping is a bare header with xid -2", () => {
    expect(toHex(encodeZkRequest(PING_XID, { type: "ping" }))).toBe("00000008" + "fffffffe" + "0000000b");
    expect(decodeZkRequest(hex("fffffffe0000000b"))).toEqual({ xid: -2, opcode: 11, request: { type: "ping" } });
  });

  it("golden: multi with one delete", () => {
    const frame =
      "00000001" + "0000000e" + // xid 1, multi
      "00000002" + "00" + "ffffffff" + // MultiHeader {delete, done false, err -1}
      "00000002" + "2f61" + "ffffffff" + // DeleteRequest {"/a", version -1}
      "ffffffff" + "01" + "ffffffff"; // terminator
    const req: ZkRequest = { type: "multi", ops: [{ type: "delete", path: "/a", version: -1 }] };
    expect(toHex(body(encodeZkRequest(1, req)))).toBe(frame);
    expect(decodeZkRequest(hex(frame)).request).toEqual(req);
  });

  it("unknown opcodes decode with their body so the server can answer UNIMPLEMENTED", () => {
    expect(decodeZkRequest(hex("00000005 00000066 0a0b"))).toEqual({ xid: 5, opcode: 102, request: { type: "unknown", opcode: 102, body: hex("0a0b") } });
  });

  it("a malformed body for a known op throws JuteError carrying xid and opcode", () => {
    let caught: unknown;
    try {
      decodeZkRequest(hex("00000009 00000004 00000005 2f")); // getData, path length 5 but 1 byte
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(JuteError);
    expect((caught as JuteError).xid).toBe(9);
    expect((caught as JuteError).opcode).toBe(OpCode.getData);
    expect(() => decodeZkRequest(hex("000000"))).toThrow(JuteError);
  });

  it("rejects read ops inside multi and write ops inside multiRead", () => {
    const multiWithGetData = encodeZkRequest(1, { type: "multiRead", ops: [{ type: "getData", path: "/a", watch: false }] });
    multiWithGetData.set(hex("0000000e"), 8); // retag the frame as a multi
    expect(() => decodeZkRequest(body(multiWithGetData))).toThrow(JuteError);
    const readWithDelete = encodeZkRequest(1, { type: "multi", ops: [{ type: "delete", path: "/a", version: 0 }] });
    readWithDelete.set(hex("00000016"), 8);
    expect(() => decodeZkRequest(body(readWithDelete))).toThrow(JuteError);
  });

  it("a multi without its terminator is truncated", () => {
    const f = body(encodeZkRequest(1, { type: "multi", ops: [{ type: "check", path: "/", version: 1 }] }));
    expect(() => decodeZkRequest(f.subarray(0, f.length - 9))).toThrow(JuteError);
  });

  it("ignores trailing bytes, as ZooKeeper does", () => {
    const f = concat(body(encodeZkRequest(3, { type: "sync", path: "/x" })), hex("deadbeef"));
    expect(decodeZkRequest(f).request).toEqual({ type: "sync", path: "/x" });
  });
});

describe("connect", () => {
  const req = { protocolVersion: 0, lastZxidSeen: 0x2_0000_0001n, timeOut: 10_000, sessionId: 0x1000_0000_0000_0001n, passwd: new Uint8Array(16).fill(3) };

  it("decodes requests with and without the readOnly byte", () => {
    expect(decodeConnectRequest(body(encodeConnectRequest(req)))).toEqual(req);
    expect(decodeConnectRequest(body(encodeConnectRequest({ ...req, readOnly: true })))).toEqual({ ...req, readOnly: true });
    expect(body(encodeConnectRequest(req)).length).toBe(44);
  });

  it("writes the response's readOnly byte only for clients that sent one", () => {
    const rsp = { protocolVersion: 0, timeOut: 10_000, sessionId: 0x1000_0000_0000_0001n, passwd: new Uint8Array(16).fill(9), readOnly: true };
    const modern = body(encodeConnectResponse(rsp, true));
    const old = body(encodeConnectResponse(rsp, false));
    expect(modern.length).toBe(4 + 4 + 8 + 4 + 16 + 1);
    expect(old.length).toBe(modern.length - 1);
    expect(decodeConnectResponse(modern)).toEqual(rsp);
    const { readOnly: _ro, ...withoutRo } = rsp;
    expect(decodeConnectResponse(old)).toEqual(withoutRo);
    const { readOnly: _unset, ...noFlag } = rsp;
    expect(decodeConnectResponse(body(encodeConnectResponse(noFlag, true))).readOnly).toBe(false);
  });
});

describe("replies", () => {
  it("every body survives encodeReply → FrameDecoder → decodeReply", () => {
    fc.assert(
      fc.property(int32, long, responseBody, (xid, zxid, b) => {
        const got = decodeReply(body(encodeReply(xid, zxid, 0, b)), OpCode[b.type]);
        expect(got).toEqual({ xid, zxid, err: 0, body: b });
      }),
      RUNS,
    );
  });

  it("sends no body with an error, except for multi and multiRead", () => {
    fc.assert(
      fc.property(responseBody, fc.integer({ min: -130, max: -1 }), (b, err) => {
        const frame = body(encodeReply(4, 7n, err, b));
        const multi = b.type === "multi" || b.type === "multiRead";
        if (!multi) expect(frame.length).toBe(16);
        expect(decodeReply(frame, OpCode[b.type])).toEqual({ xid: 4, zxid: 7n, err, body: multi ? b : undefined });
      }),
      RUNS,
    );
  });

  it("golden: an error reply is the bare header", () => {
    expect(toHex(encodeReply(12, 0x5n, Code.NONODE))).toBe("00000010" + "0000000c" + "0000000000000005" + "ffffff9b");
  });

  it("golden: addWatch answers with ErrorResponse{0}, empty ops with nothing", () => {
    expect(toHex(body(encodeReply(3, 1n, 0, { type: "addWatch" })))).toBe("00000003" + "0000000000000001" + "00000000" + "00000000");
    expect(body(encodeReply(3, 1n, 0, { type: "delete" })).length).toBe(16);
    expect(body(encodeReply(PING_XID, 1n, 0)).length).toBe(16);
  });

  it("golden: a failed multi", () => {
    const b: ZkResponseBody = { type: "multi", results: [{ type: "error", err: 0 }, { type: "error", err: Code.NONODE }] };
    const expected =
      "00000002" + "0000000000000009" + "00000000" + // reply header, err 0 as ZooKeeper sends it
      "ffffffff" + "00" + "00000000" + "00000000" + // error result 0
      "ffffffff" + "00" + "ffffff9b" + "ffffff9b" + // error result NONODE
      "ffffffff" + "01" + "ffffffff"; // terminator
    expect(toHex(body(encodeReply(2, 9n, 0, b)))).toBe(expected);
  });

  it("an unknown opcode decodes to no body", () => {
    expect(decodeReply(body(encodeReply(1, 1n, Code.UNIMPLEMENTED)), 102).body).toBeUndefined();
  });
});

describe("watch events", () => {
  it("golden: NodeDataChanged on /x", () => {
    const frame = encodeWatchEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/x", 0x10n);
    const expected = "ffffffff" + "0000000000000010" + "00000000" + "00000003" + "00000003" + "00000002" + "2f78";
    expect(toHex(frame)).toBe("0000001e" + expected);
    expect(decodeWatchEvent(body(frame))).toEqual({ zxid: 0x10n, event: { type: 3, state: 3, path: "/x" } });
  });

  it("round-trip", () => {
    fc.assert(
      fc.property(int32, int32, fc.string({ unit: "binary" }), long, (type, state, path, zxid) => {
        expect(decodeWatchEvent(body(encodeWatchEvent(type, state, path, zxid)))).toEqual({ zxid, event: { type, state, path } });
      }),
    );
  });
});
