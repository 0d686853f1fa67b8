// multi and multiRead: a sequence of (MultiHeader, record) pairs closed by the terminator
// MultiHeader {type: -1, done: true, err: -1}. Requests carry op records; responses carry one
// result per op, where a failed op is MultiHeader{type: -1, err} followed by ErrorResponse{err}.

import { OpCode } from "../codes.ts";
import { JuteError, type JuteReader, type JuteWriter } from "./buffer.ts";
import {
  CheckVersionRequestRecord,
  Create2ResponseRecord,
  CreateRequestRecord,
  CreateResponseRecord,
  CreateTTLRequestRecord,
  DeleteRequestRecord,
  GetChildrenRequestRecord,
  GetChildrenResponseRecord,
  GetDataRequestRecord,
  GetDataResponseRecord,
  SetDataRequestRecord,
  SetDataResponseRecord,
  type JuteCreateRequest,
  type JuteCreateTTLRequest,
  type JutePathVersion,
  type JutePathWatch,
  type JuteSetDataRequest,
} from "./op-records.ts";
import { ErrorResponseRecord, MultiHeaderRecord, type JuteMultiHeader, type JuteStat } from "./records.ts";

/** One operation of a multi (opcode 14). */
export type ZkMultiOp =
  | ({ type: "create" } & JuteCreateRequest)
  | ({ type: "create2" } & JuteCreateRequest)
  | ({ type: "createContainer" } & JuteCreateRequest)
  | ({ type: "createTTL" } & JuteCreateTTLRequest)
  | ({ type: "delete" } & JutePathVersion)
  | ({ type: "setData" } & JuteSetDataRequest)
  | ({ type: "check" } & JutePathVersion);

/** One operation of a multiRead (opcode 22). ZooKeeper ignores `watch` here. */
export type ZkMultiReadOp = ({ type: "getData" } & JutePathWatch) | ({ type: "getChildren" } & JutePathWatch);

/**
 * One result of a multi. ZooKeeper answers a plain `create` op with "create" (path only) and
 * create2/createTTL/createContainer ops with "create2" (path and stat). In a failed multi every
 * op gets an "error": 0 for those before the failure, the code for the failing one and
 * RUNTIMEINCONSISTENCY after it.
 */
export type ZkMultiResult =
  | { type: "create"; path: string }
  | { type: "create2"; path: string; stat: JuteStat }
  | { type: "delete" }
  | { type: "setData"; stat: JuteStat }
  | { type: "check" }
  | { type: "error"; err: number };

/** One result of a multiRead. */
export type ZkMultiReadResult =
  | { type: "getData"; data: Uint8Array | null; stat: JuteStat }
  | { type: "getChildren"; children: string[] }
  | { type: "error"; err: number };

const TERMINATOR: JuteMultiHeader = { type: -1, done: true, err: -1 };
const opHeader = (type: number): JuteMultiHeader => ({ type, done: false, err: -1 });

/** Reads headers and bodies until the terminator; the header's `type` picks the body. */
function readSequence<T>(r: JuteReader, what: string, readBody: (h: JuteMultiHeader) => T | undefined): T[] {
  const out: T[] = [];
  for (;;) {
    const h = MultiHeaderRecord.read(r);
    if (h.done) return out;
    const item = readBody(h);
    if (item === undefined) throw new JuteError(`opcode ${h.type} is not allowed in a ${what}`);
    out.push(item);
  }
}

export function writeMultiRequest(w: JuteWriter, ops: readonly ZkMultiOp[]): void {
  for (const op of ops) {
    MultiHeaderRecord.write(w, opHeader(OpCode[op.type]));
    switch (op.type) {
      case "create":
      case "create2":
      case "createContainer":
        CreateRequestRecord.write(w, op);
        break;
      case "createTTL":
        CreateTTLRequestRecord.write(w, op);
        break;
      case "delete":
        DeleteRequestRecord.write(w, op);
        break;
      case "setData":
        SetDataRequestRecord.write(w, op);
        break;
      case "check":
        CheckVersionRequestRecord.write(w, op);
        break;
    }
  }
  MultiHeaderRecord.write(w, TERMINATOR);
}

export function readMultiRequest(r: JuteReader): ZkMultiOp[] {
  return readSequence<ZkMultiOp>(r, "multi", (h) => {
    switch (h.type) {
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
      case OpCode.setData:
        return { type: "setData", ...SetDataRequestRecord.read(r) };
      case OpCode.check:
        return { type: "check", ...CheckVersionRequestRecord.read(r) };
      default:
        return undefined;
    }
  });
}

export function writeMultiReadRequest(w: JuteWriter, ops: readonly ZkMultiReadOp[]): void {
  for (const op of ops) {
    MultiHeaderRecord.write(w, opHeader(OpCode[op.type]));
    (op.type === "getData" ? GetDataRequestRecord : GetChildrenRequestRecord).write(w, op);
  }
  MultiHeaderRecord.write(w, TERMINATOR);
}

export function readMultiReadRequest(r: JuteReader): ZkMultiReadOp[] {
  return readSequence<ZkMultiReadOp>(r, "multiRead", (h) => {
    if (h.type === OpCode.getData) return { type: "getData", ...GetDataRequestRecord.read(r) };
    if (h.type === OpCode.getChildren) return { type: "getChildren", ...GetChildrenRequestRecord.read(r) };
    return undefined;
  });
}

export function writeMultiResponse(w: JuteWriter, results: readonly ZkMultiResult[]): void {
  for (const res of results) {
    if (res.type === "error") {
      MultiHeaderRecord.write(w, { type: OpCode.error, done: false, err: res.err });
      ErrorResponseRecord.write(w, res);
      continue;
    }
    MultiHeaderRecord.write(w, { type: OpCode[res.type], done: false, err: 0 });
    switch (res.type) {
      case "create":
        CreateResponseRecord.write(w, res);
        break;
      case "create2":
        Create2ResponseRecord.write(w, res);
        break;
      case "setData":
        SetDataResponseRecord.write(w, res);
        break;
      case "delete":
      case "check":
        break;
    }
  }
  MultiHeaderRecord.write(w, TERMINATOR);
}

export function readMultiResponse(r: JuteReader): ZkMultiResult[] {
  return readSequence<ZkMultiResult>(r, "multi response", (h) => {
    switch (h.type) {
      case OpCode.create:
        return { type: "create", ...CreateResponseRecord.read(r) };
      case OpCode.create2:
        return { type: "create2", ...Create2ResponseRecord.read(r) };
      case OpCode.setData:
        return { type: "setData", ...SetDataResponseRecord.read(r) };
      case OpCode.delete:
        return { type: "delete" };
      case OpCode.check:
        return { type: "check" };
      case OpCode.error:
        return { type: "error", ...ErrorResponseRecord.read(r) };
      default:
        return undefined;
    }
  });
}

export function writeMultiReadResponse(w: JuteWriter, results: readonly ZkMultiReadResult[]): void {
  for (const res of results) {
    switch (res.type) {
      case "getData":
        MultiHeaderRecord.write(w, { type: OpCode.getData, done: false, err: 0 });
        GetDataResponseRecord.write(w, res);
        break;
      case "getChildren":
        MultiHeaderRecord.write(w, { type: OpCode.getChildren, done: false, err: 0 });
        GetChildrenResponseRecord.write(w, res);
        break;
      case "error":
        MultiHeaderRecord.write(w, { type: OpCode.error, done: false, err: res.err });
        ErrorResponseRecord.write(w, res);
        break;
    }
  }
  MultiHeaderRecord.write(w, TERMINATOR);
}

export function readMultiReadResponse(r: JuteReader): ZkMultiReadResult[] {
  return readSequence<ZkMultiReadResult>(r, "multiRead response", (h) => {
    if (h.type === OpCode.getData) return { type: "getData", ...GetDataResponseRecord.read(r) };
    if (h.type === OpCode.getChildren) return { type: "getChildren", ...GetChildrenResponseRecord.read(r) };
    if (h.type === OpCode.error) return { type: "error", ...ErrorResponseRecord.read(r) };
    return undefined;
  });
}
