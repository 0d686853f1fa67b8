// The server's view of a ZooKeeper client connection: decode the ConnectRequest and every
// request frame, encode the ConnectResponse, replies and watch notifications (replies.ts).
// "frame" below means a body as FrameDecoder returns it, without the 4-byte length; every
// encode function returns a complete frame, length prefix included, ready for the socket.

import { OpCode } from "../codes.ts";
import { JuteError, JuteReader, JuteWriter, type JuteReadOptions } from "./buffer.ts";
import { readMultiReadRequest, readMultiRequest, writeMultiReadRequest, writeMultiRequest, type ZkMultiOp, type ZkMultiReadOp } from "./multi.ts";
import {
  AddWatchRequestRecord,
  CheckVersionRequestRecord,
  CheckWatchesRequestRecord,
  CreateRequestRecord,
  CreateTTLRequestRecord,
  DeleteContainerRequestRecord,
  DeleteRequestRecord,
  ExistsRequestRecord,
  GetACLRequestRecord,
  GetAllChildrenNumberRequestRecord,
  GetChildren2RequestRecord,
  GetChildrenRequestRecord,
  GetDataRequestRecord,
  GetEphemeralsRequestRecord,
  RemoveWatchesRequestRecord,
  SetACLRequestRecord,
  SetDataRequestRecord,
  SyncRequestRecord,
  type JuteCreateRequest,
  type JuteCreateTTLRequest,
  type JutePath,
  type JutePathVersion,
  type JutePathWatch,
  type JuteSetACLRequest,
  type JuteSetDataRequest,
} from "./op-records.ts";
import {
  AuthPacketRecord,
  ConnectRequestRecord,
  RequestHeaderRecord,
  SetWatches2Record,
  SetWatchesRecord,
  type JuteSetWatches,
  type JuteSetWatches2,
  type ZkConnectRequest,
} from "./records.ts";

export { FrameDecoder, peekFourLetterWord } from "./frame.ts";
export { AUTH_XID, NOTIFICATION_XID, PING_XID, SET_WATCHES_XID } from "./constants.ts";

/** A decoded client request; `type` is the OpCode name. Nullable `data` mirrors a jute null buffer. */
export type ZkRequest =
  | ({ type: "create" } & JuteCreateRequest)
  | ({ type: "create2" } & JuteCreateRequest)
  | ({ type: "createContainer" } & JuteCreateRequest)
  | ({ type: "createTTL" } & JuteCreateTTLRequest)
  | ({ type: "delete" } & JutePathVersion)
  | ({ type: "deleteContainer" } & JutePath)
  | ({ type: "exists" } & JutePathWatch)
  | ({ type: "getData" } & JutePathWatch)
  | ({ type: "setData" } & JuteSetDataRequest)
  | ({ type: "getACL" } & JutePath)
  | ({ type: "setACL" } & JuteSetACLRequest)
  | ({ type: "getChildren" } & JutePathWatch)
  | ({ type: "getChildren2" } & JutePathWatch)
  | ({ type: "sync" } & JutePath)
  | ({ type: "check" } & JutePathVersion)
  | { type: "multi"; ops: ZkMultiOp[] }
  | { type: "multiRead"; ops: ZkMultiReadOp[] }
  | { type: "ping" }
  | { type: "closeSession" }
  | { type: "whoAmI" }
  /** AuthPacket; its unused `type` field is `authType` here. */
  | { type: "auth"; authType: number; scheme: string; auth: Uint8Array }
  | ({ type: "setWatches" } & JuteSetWatches)
  | ({ type: "setWatches2" } & JuteSetWatches2)
  | { type: "getEphemerals"; prefixPath: string }
  | ({ type: "getAllChildrenNumber" } & JutePath)
  | { type: "addWatch"; path: string; mode: number }
  /** RemoveWatchesRequest; jute's `type` field (a WatcherType) is `watcherType` here. */
  | { type: "removeWatches"; path: string; watcherType: number }
  | { type: "checkWatches"; path: string; watcherType: number }
  /** An opcode this codec does not know (sasl, reconfig, ...): answer UNIMPLEMENTED. */
  | { type: "unknown"; opcode: number; body: Uint8Array };

export type ZkRequestType = ZkRequest["type"];

export interface ZkRequestFrame {
  xid: number;
  opcode: number;
  request: ZkRequest;
}

/** Decodes the first frame of a session. `readOnly` is present only if the client sent it. */
export function decodeConnectRequest(frame: Uint8Array, options?: JuteReadOptions): ZkConnectRequest {
  return ConnectRequestRecord.read(new JuteReader(frame, options));
}

/** Encodes a ConnectRequest frame (client side; for tests). `readOnly` is written only if defined. */
export function encodeConnectRequest(req: ZkConnectRequest): Uint8Array {
  const w = new JuteWriter({ lengthPrefix: true });
  ConnectRequestRecord.write(w, req);
  return w.finish();
}

function readBody(opcode: number, r: JuteReader, frame: Uint8Array): ZkRequest {
  switch (opcode) {
    case OpCode.create:
      return { type: "create", ...CreateRequestRecord.read(r) };
    case OpCode.create2:
      return { type: "create2", ...CreateRequestRecord.read(r) };
    case OpCode.createContainer:
      return { type: "createContainer", ...CreateRequestRecord.read(r) };
    case OpCode.createTTL:
      return { type: "createTTL", ...CreateTTLRequestRecord.read(r) };
    case OpCode.delete:
      return { type: "delete", ...DeleteRequestRecord.read(r) };
    case OpCode.deleteContainer:
      return { type: "deleteContainer", ...DeleteContainerRequestRecord.read(r) };
    case OpCode.exists:
      return { type: "exists", ...ExistsRequestRecord.read(r) };
    case OpCode.getData:
      return { type: "getData", ...GetDataRequestRecord.read(r) };
    case OpCode.setData:
      return { type: "setData", ...SetDataRequestRecord.read(r) };
    case OpCode.getACL:
      return { type: "getACL", ...GetACLRequestRecord.read(r) };
    case OpCode.setACL:
      return { type: "setACL", ...SetACLRequestRecord.read(r) };
    case OpCode.getChildren:
      return { type: "getChildren", ...GetChildrenRequestRecord.read(r) };
    case OpCode.getChildren2:
      return { type: "getChildren2", ...GetChildren2RequestRecord.read(r) };
    case OpCode.sync:
      return { type: "sync", ...SyncRequestRecord.read(r) };
    case OpCode.check:
      return { type: "check", ...CheckVersionRequestRecord.read(r) };
    case OpCode.multi:
      return { type: "multi", ops: readMultiRequest(r) };
    case OpCode.multiRead:
      return { type: "multiRead", ops: readMultiReadRequest(r) };
    case OpCode.ping:
      return { type: "ping" };
    case OpCode.closeSession:
      return { type: "closeSession" };
    case OpCode.whoAmI:
      return { type: "whoAmI" };
    case OpCode.auth: {
      const p = AuthPacketRecord.read(r);
      return { type: "auth", authType: p.type, scheme: p.scheme, auth: p.auth };
    }
    case OpCode.setWatches:
      return { type: "setWatches", ...SetWatchesRecord.read(r) };
    case OpCode.setWatches2:
      return { type: "setWatches2", ...SetWatches2Record.read(r) };
    case OpCode.getEphemerals:
      return { type: "getEphemerals", ...GetEphemeralsRequestRecord.read(r) };
    case OpCode.getAllChildrenNumber:
      return { type: "getAllChildrenNumber", ...GetAllChildrenNumberRequestRecord.read(r) };
    case OpCode.addWatch:
      return { type: "addWatch", ...AddWatchRequestRecord.read(r) };
    case OpCode.removeWatches: {
      const q = RemoveWatchesRequestRecord.read(r);
      return { type: "removeWatches", path: q.path, watcherType: q.type };
    }
    case OpCode.checkWatches: {
      const q = CheckWatchesRequestRecord.read(r);
      return { type: "checkWatches", path: q.path, watcherType: q.type };
    }
    default:
      return { type: "unknown", opcode, body: frame.slice(r.offset) };
  }
}

/**
 * Decodes a request frame: RequestHeader {xid, type} then the op's record. Unknown opcodes give
 * `{type: "unknown"}`; a body that is malformed for a known opcode throws JuteError carrying the
 * xid and opcode (so the caller may still answer MARSHALLINGERROR). Trailing bytes are ignored,
 * as in ZooKeeper.
 */
export function decodeZkRequest(frame: Uint8Array, options?: JuteReadOptions): ZkRequestFrame {
  const r = new JuteReader(frame, options);
  const { xid, type: opcode } = RequestHeaderRecord.read(r);
  try {
    return { xid, opcode, request: readBody(opcode, r, frame) };
  } catch (e) {
    if (e instanceof JuteError) {
      e.xid = xid;
      e.opcode = opcode;
    }
    throw e;
  }
}

/** The opcode a request is sent with. */
export function zkRequestOpcode(request: ZkRequest): number {
  return request.type === "unknown" ? request.opcode : OpCode[request.type];
}

/** Encodes a request frame, length prefix included (client side; for tests and differential runs). */
export function encodeZkRequest(xid: number, request: ZkRequest): Uint8Array {
  const w = new JuteWriter({ lengthPrefix: true });
  RequestHeaderRecord.write(w, { xid, type: zkRequestOpcode(request) });
  switch (request.type) {
    case "create":
    case "create2":
    case "createContainer":
      CreateRequestRecord.write(w, request);
      break;
    case "createTTL":
      CreateTTLRequestRecord.write(w, request);
      break;
    case "delete":
    case "check":
      DeleteRequestRecord.write(w, request);
      break;
    case "deleteContainer":
    case "getACL":
    case "sync":
    case "getAllChildrenNumber":
      GetACLRequestRecord.write(w, request);
      break;
    case "exists":
    case "getData":
    case "getChildren":
    case "getChildren2":
      GetDataRequestRecord.write(w, request);
      break;
    case "setData":
      SetDataRequestRecord.write(w, request);
      break;
    case "setACL":
      SetACLRequestRecord.write(w, request);
      break;
    case "multi":
      writeMultiRequest(w, request.ops);
      break;
    case "multiRead":
      writeMultiReadRequest(w, request.ops);
      break;
    case "ping":
    case "closeSession":
    case "whoAmI":
      break;
    case "auth":
      AuthPacketRecord.write(w, { type: request.authType, scheme: request.scheme, auth: request.auth });
      break;
    case "setWatches":
      SetWatchesRecord.write(w, request);
      break;
    case "setWatches2":
      SetWatches2Record.write(w, request);
      break;
    case "getEphemerals":
      GetEphemeralsRequestRecord.write(w, request);
      break;
    case "addWatch":
      AddWatchRequestRecord.write(w, request);
      break;
    case "removeWatches":
    case "checkWatches":
      RemoveWatchesRequestRecord.write(w, { path: request.path, type: request.watcherType });
      break;
    case "unknown":
      w.raw(request.body);
      break;
  }
  return w.finish();
}

export * from "./replies.ts";
