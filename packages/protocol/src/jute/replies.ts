// Server-to-client frames: the ConnectResponse, replies (ReplyHeader + response record) and
// watch notifications (ReplyHeader with xid -1 + WatcherEvent). Encoders return whole frames,
// length prefix included; decoders take frames without it (as FrameDecoder yields them).

import { Code, OpCode } from "../codes.ts";
import { JuteReader, JuteWriter, type JuteReadOptions } from "./buffer.ts";
import { NOTIFICATION_XID } from "./constants.ts";
import { readMultiReadResponse, readMultiResponse, writeMultiReadResponse, writeMultiResponse, type ZkMultiReadResult, type ZkMultiResult } from "./multi.ts";
import {
  Create2ResponseRecord,
  CreateResponseRecord,
  ExistsResponseRecord,
  GetACLResponseRecord,
  GetAllChildrenNumberResponseRecord,
  GetChildren2ResponseRecord,
  GetChildrenResponseRecord,
  GetDataResponseRecord,
  GetEphemeralsResponseRecord,
  SetACLResponseRecord,
  SetDataResponseRecord,
  SyncResponseRecord,
  WhoAmIResponseRecord,
  type JuteCreate2Response,
  type JuteGetACLResponse,
  type JuteGetChildren2Response,
  type JuteGetDataResponse,
  type JutePath,
  type JuteStatResponse,
} from "./op-records.ts";
import {
  ConnectResponseRecord,
  ErrorResponseRecord,
  ReplyHeaderRecord,
  WatcherEventRecord,
  type JuteClientInfo,
  type JuteReplyHeader,
  type JuteWatcherEvent,
  type ZkConnectResponse,
} from "./records.ts";

/** Ops whose successful reply carries no record. */
export type ZkEmptyResponseType =
  | "delete"
  | "deleteContainer"
  | "check"
  | "ping"
  | "closeSession"
  | "auth"
  | "setWatches"
  | "setWatches2"
  | "removeWatches"
  | "checkWatches";

/** The record after a ReplyHeader; `type` names the op being answered. */
export type ZkResponseBody =
  | ({ type: "create" } & JutePath)
  | ({ type: "create2" } & JuteCreate2Response)
  | ({ type: "createContainer" } & JuteCreate2Response)
  | ({ type: "createTTL" } & JuteCreate2Response)
  | ({ type: "exists" } & JuteStatResponse)
  | ({ type: "setData" } & JuteStatResponse)
  | ({ type: "setACL" } & JuteStatResponse)
  | ({ type: "getData" } & JuteGetDataResponse)
  | { type: "getChildren"; children: string[] }
  | ({ type: "getChildren2" } & JuteGetChildren2Response)
  | ({ type: "getACL" } & JuteGetACLResponse)
  | ({ type: "sync" } & JutePath)
  | { type: "multi"; results: ZkMultiResult[] }
  | { type: "multiRead"; results: ZkMultiReadResult[] }
  | { type: "getAllChildrenNumber"; totalNumber: number }
  | { type: "getEphemerals"; ephemerals: string[] }
  | { type: "whoAmI"; clientInfo: JuteClientInfo[] }
  /** ZooKeeper answers addWatch with ErrorResponse{err: 0}, and its client reads those 4 bytes. */
  | { type: "addWatch" }
  | { type: ZkEmptyResponseType };

/**
 * The ConnectResponse frame. The trailing readOnly byte is written only when the client sent one
 * in its ConnectRequest (ZooKeeper's ProtocolManager does the same for pre-3.4 clients).
 */
export function encodeConnectResponse(r: ZkConnectResponse, clientSentReadOnly: boolean): Uint8Array {
  const w = new JuteWriter({ lengthPrefix: true });
  const { readOnly, ...rest } = r;
  ConnectResponseRecord.write(w, clientSentReadOnly ? { ...rest, readOnly: readOnly ?? false } : rest);
  return w.finish();
}

/** Decodes a ConnectResponse frame (client side; for tests). */
export function decodeConnectResponse(frame: Uint8Array, options?: JuteReadOptions): ZkConnectResponse {
  return ConnectResponseRecord.read(new JuteReader(frame, options));
}

function writeBody(w: JuteWriter, body: ZkResponseBody): void {
  switch (body.type) {
    case "create":
      CreateResponseRecord.write(w, body);
      break;
    case "create2":
    case "createContainer":
    case "createTTL":
      Create2ResponseRecord.write(w, body);
      break;
    case "exists":
    case "setData":
    case "setACL":
      SetDataResponseRecord.write(w, body);
      break;
    case "getData":
      GetDataResponseRecord.write(w, body);
      break;
    case "getChildren":
      GetChildrenResponseRecord.write(w, body);
      break;
    case "getChildren2":
      GetChildren2ResponseRecord.write(w, body);
      break;
    case "getACL":
      GetACLResponseRecord.write(w, body);
      break;
    case "sync":
      SyncResponseRecord.write(w, body);
      break;
    case "multi":
      writeMultiResponse(w, body.results);
      break;
    case "multiRead":
      writeMultiReadResponse(w, body.results);
      break;
    case "getAllChildrenNumber":
      GetAllChildrenNumberResponseRecord.write(w, body);
      break;
    case "getEphemerals":
      GetEphemeralsResponseRecord.write(w, body);
      break;
    case "whoAmI":
      WhoAmIResponseRecord.write(w, body);
      break;
    case "addWatch":
      ErrorResponseRecord.write(w, { err: Code.OK });
      break;
    default:
      break; // empty responses
  }
}

const alwaysHasBody = (type: string): boolean => type === "multi" || type === "multiRead";

/**
 * A reply frame: ReplyHeader {xid, zxid, err} then the body. Like ZooKeeper, the body is sent
 * only when err is 0, except for multi and multiRead, whose result lists are always sent.
 */
export function encodeReply(xid: number, zxid: bigint, err: number, body?: ZkResponseBody): Uint8Array {
  const w = new JuteWriter({ lengthPrefix: true });
  ReplyHeaderRecord.write(w, { xid, zxid, err });
  if (body !== undefined && (err === Code.OK || alwaysHasBody(body.type))) writeBody(w, body);
  return w.finish();
}

/** A watch notification frame: ReplyHeader {xid: -1, zxid, err: 0} then WatcherEvent. */
export function encodeWatchEvent(type: number, state: number, path: string, zxid: bigint): Uint8Array {
  const w = new JuteWriter({ lengthPrefix: true });
  ReplyHeaderRecord.write(w, { xid: NOTIFICATION_XID, zxid, err: Code.OK });
  WatcherEventRecord.write(w, { type, state, path });
  return w.finish();
}

export interface ZkReply extends JuteReplyHeader {
  body: ZkResponseBody | undefined;
}

function readBody(opcode: number, r: JuteReader): ZkResponseBody | undefined {
  switch (opcode) {
    case OpCode.create:
      return { type: "create", ...CreateResponseRecord.read(r) };
    case OpCode.create2:
      return { type: "create2", ...Create2ResponseRecord.read(r) };
    case OpCode.createContainer:
      return { type: "createContainer", ...Create2ResponseRecord.read(r) };
    case OpCode.createTTL:
      return { type: "createTTL", ...Create2ResponseRecord.read(r) };
    case OpCode.exists:
      return { type: "exists", ...ExistsResponseRecord.read(r) };
    case OpCode.setData:
      return { type: "setData", ...SetDataResponseRecord.read(r) };
    case OpCode.setACL:
      return { type: "setACL", ...SetACLResponseRecord.read(r) };
    case OpCode.getData:
      return { type: "getData", ...GetDataResponseRecord.read(r) };
    case OpCode.getChildren:
      return { type: "getChildren", ...GetChildrenResponseRecord.read(r) };
    case OpCode.getChildren2:
      return { type: "getChildren2", ...GetChildren2ResponseRecord.read(r) };
    case OpCode.getACL:
      return { type: "getACL", ...GetACLResponseRecord.read(r) };
    case OpCode.sync:
      return { type: "sync", ...SyncResponseRecord.read(r) };
    case OpCode.multi:
      return { type: "multi", results: readMultiResponse(r) };
    case OpCode.multiRead:
      return { type: "multiRead", results: readMultiReadResponse(r) };
    case OpCode.getAllChildrenNumber:
      return { type: "getAllChildrenNumber", ...GetAllChildrenNumberResponseRecord.read(r) };
    case OpCode.getEphemerals:
      return { type: "getEphemerals", ...GetEphemeralsResponseRecord.read(r) };
    case OpCode.whoAmI:
      return { type: "whoAmI", ...WhoAmIResponseRecord.read(r) };
    case OpCode.addWatch:
      ErrorResponseRecord.read(r);
      return { type: "addWatch" };
    case OpCode.delete:
      return { type: "delete" };
    case OpCode.deleteContainer:
      return { type: "deleteContainer" };
    case OpCode.check:
      return { type: "check" };
    case OpCode.ping:
      return { type: "ping" };
    case OpCode.closeSession:
      return { type: "closeSession" };
    case OpCode.auth:
      return { type: "auth" };
    case OpCode.setWatches:
      return { type: "setWatches" };
    case OpCode.setWatches2:
      return { type: "setWatches2" };
    case OpCode.removeWatches:
      return { type: "removeWatches" };
    case OpCode.checkWatches:
      return { type: "checkWatches" };
    default:
      return undefined;
  }
}

/**
 * Decodes a reply to a request sent with `opcode` (client side; for tests and differential runs).
 * `body` is undefined when err is not 0 (multi/multiRead: when no bytes follow the header) and
 * for opcodes this codec does not know. Notifications (xid -1) go to decodeWatchEvent instead.
 */
export function decodeReply(frame: Uint8Array, opcode: number, options?: JuteReadOptions): ZkReply {
  const r = new JuteReader(frame, options);
  const header = ReplyHeaderRecord.read(r);
  const isMulti = opcode === OpCode.multi || opcode === OpCode.multiRead;
  const bodyExpected = header.err === Code.OK || (isMulti && r.remaining > 0);
  return { ...header, body: bodyExpected ? readBody(opcode, r) : undefined };
}

/** Decodes a notification frame (xid -1). */
export function decodeWatchEvent(frame: Uint8Array, options?: JuteReadOptions): { zxid: bigint; event: JuteWatcherEvent } {
  const r = new JuteReader(frame, options);
  const header = ReplyHeaderRecord.read(r);
  return { zxid: header.zxid, event: WatcherEventRecord.read(r) };
}
