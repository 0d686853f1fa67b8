// Native protocol codec: bytes <-> typed messages. No sockets here.
import protobuf from "protobufjs";
import { Code, KeeperError } from "./codes.ts";
import { keeperProto } from "./keeper-proto.ts";
import { limits } from "./limits.ts";
import { AddWatchMode, CreateMode, WatcherType, type Acl, type RequestAcl, type ReadOpResult, type MultiOp, type MultiOpResult, type Request, type Result, type Stat, type WatchEventMessage } from "./types.ts";
import { asSessionId, asZxid, type SessionId, type Zxid } from "./zxid.ts";

// Decode 64-bit integers as plain numbers: Keeper's zxids and session ids stay below 2^53.
protobuf.util.Long = undefined as never;
protobuf.configure();

const root = protobuf.parse(keeperProto, { keepCase: true }).root;

/** The parsed schema, for other codecs on the same messages (the peer protocol). */
export const protoRoot: protobuf.Root = root;
const ClientFrame = root.lookupType("keeper.ClientFrame");
const ServerFrame = root.lookupType("keeper.ServerFrame");

export interface ConnectRequest {
  protocolVersion: number;
  sessionId: SessionId;
  password: Uint8Array;
  timeoutMs: number;
  lastZxidSeen: Zxid;
  canBeReadOnly: boolean;
}
export interface ConnectResponse {
  protocolVersion: number;
  sessionId: SessionId;
  password: Uint8Array;
  timeoutMs: number;
  readOnly: boolean;
  lastZxid: Zxid;
  serverId: number;
}

export type ClientMessage =
  | ({ kind: "connect" } & ConnectRequest)
  | { kind: "request"; xid: number; request: Request }
  /** A request frame that parsed but asks for something invalid: answer its xid with `err`. */
  | { kind: "invalid"; xid: number; err: Code; reason: string };

export type ServerMessage =
  | ({ kind: "connected" } & ConnectResponse)
  | { kind: "response"; xid: number; zxid: Zxid; err: Code; result?: Result }
  | ({ kind: "event" } & WatchEventMessage)
  | { kind: "close"; code: Code; reason: string };

/** Thrown for bytes that are not a frame at all; the connection cannot continue. */
export class FrameError extends KeeperError {
  constructor(reason: string) {
    super(Code.MARSHALLINGERROR, reason);
  }
}

type Obj = Record<string, any>;

const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array(0));
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** `{nullData: true}` when the message says so, else nothing (the field is optional in the types). */
const nullData = (b: Obj): { nullData?: true } => (b.nullData === true ? { nullData: true } : {});

function statToWire(s: Stat): Obj {
  return { ...s };
}
function statFromWire(o: Obj | undefined | null): Stat {
  const s = o ?? {};
  return {
    czxid: asZxid(num(s.czxid)),
    mzxid: asZxid(num(s.mzxid)),
    ctime: num(s.ctime),
    mtime: num(s.mtime),
    version: num(s.version),
    cversion: num(s.cversion),
    aversion: num(s.aversion),
    ephemeralOwner: num(s.ephemeralOwner),
    dataLength: num(s.dataLength),
    numChildren: num(s.numChildren),
    pzxid: asZxid(num(s.pzxid)),
  };
}
/** A request's ACL: jute nulls travel as flags (protobuf strings cannot be null). */
function requestAclFromWire(list: unknown): RequestAcl[] {
  return Array.isArray(list) ? list.map((a: Obj) => ({ perms: num(a.perms), scheme: a.nullScheme === true ? null : str(a.scheme), id: a.nullId === true ? null : str(a.id) })) : [];
}
function requestAclToWire(list: readonly RequestAcl[]): Obj[] {
  return list.map((a) => ({ perms: a.perms, scheme: a.scheme ?? "", id: a.id ?? "", nullScheme: a.scheme === null, nullId: a.id === null }));
}
function aclFromWire(list: unknown): Acl[] {
  return Array.isArray(list) ? list.map((a: Obj) => ({ perms: num(a.perms), scheme: str(a.scheme), id: str(a.id) })) : [];
}

class InvalidRequest extends Error {
  constructor(readonly err: Code, reason: string) {
    super(reason);
  }
}

function createMode(n: number): CreateMode {
  if (!Object.values(CreateMode).includes(n as CreateMode)) throw new InvalidRequest(Code.BADARGUMENTS, `unknown create mode ${n}`);
  return n as CreateMode;
}

function requestFromWire(r: Obj, inMulti: boolean): Request {
  const op: string | undefined = r.op;
  const b: Obj = op === undefined ? {} : (r[op] ?? {});
  switch (op) {
    case "create":
      return { type: "create", path: str(b.path), data: bytes(b.data), acl: requestAclFromWire(b.acl), mode: createMode(num(b.mode)), ttlMs: num(b.ttlMs), ...nullData(b) };
    case "delete":
      return { type: "delete", path: str(b.path), version: num(b.version) };
    case "setData":
      return { type: "setData", path: str(b.path), data: bytes(b.data), version: num(b.version), ...nullData(b) };
    case "check":
      return { type: "check", path: str(b.path), version: num(b.version) };
  }
  if (inMulti) throw new InvalidRequest(Code.BADARGUMENTS, `operation ${op ?? "(none)"} is not allowed inside multi`);
  switch (op) {
    case "exists":
    case "getData":
    case "getChildren":
      return { type: op, path: str(b.path), watch: b.watch === true };
    case "multi": {
      const ops: unknown[] = Array.isArray(b.ops) ? b.ops : [];
      if (ops.length > limits.multiOpsMax) throw new InvalidRequest(Code.BADARGUMENTS, `multi has ${ops.length} ops, max ${limits.multiOpsMax}`);
      return { type: "multi", ops: ops.map((o) => requestFromWire(o as Obj, true) as MultiOp) };
    }
    case "sync":
      return { type: "sync", path: str(b.path) };
    case "getAcl":
      return { type: "getACL", path: str(b.path) };
    case "setAcl":
      return { type: "setACL", path: str(b.path), acl: requestAclFromWire(b.acl), version: num(b.version) };
    case "setWatches": {
      const lists = [b.dataWatches, b.existWatches, b.childWatches, b.persistentWatches, b.persistentRecursiveWatches].map((l) => (Array.isArray(l) ? l.map(str) : []));
      const total = lists.reduce((n, l) => n + l.length, 0);
      if (total > limits.setWatchesPathsMax) throw new InvalidRequest(Code.BADARGUMENTS, `setWatches names ${total} paths, max ${limits.setWatchesPathsMax}`);
      return {
        type: "setWatches",
        relativeZxid: asZxid(num(b.relativeZxid)),
        dataWatches: lists[0]!,
        existWatches: lists[1]!,
        childWatches: lists[2]!,
        ...(lists[3]!.length > 0 ? { persistentWatches: lists[3]! } : {}),
        ...(lists[4]!.length > 0 ? { persistentRecursiveWatches: lists[4]! } : {}),
      };
    }
    case "ping":
      return { type: "ping" };
    case "closeSession":
      return { type: "closeSession" };
    case "getAllChildrenNumber":
      return { type: "getAllChildrenNumber", path: str(b.path) };
    case "getEphemerals":
      return { type: "getEphemerals", prefix: str(b.prefix) };
    case "addWatch": {
      const mode = num(b.mode);
      if (mode !== AddWatchMode.PERSISTENT && mode !== AddWatchMode.PERSISTENT_RECURSIVE) throw new InvalidRequest(Code.BADARGUMENTS, `unknown watch mode ${mode}`);
      return { type: "addWatch", path: str(b.path), mode };
    }
    case "removeWatches": {
      const t = num(b.watcherType);
      if (!Object.values(WatcherType).includes(t as WatcherType)) throw new InvalidRequest(Code.BADARGUMENTS, `unknown watcher type ${t}`);
      return { type: "removeWatches", path: str(b.path), watcherType: t as WatcherType, checkOnly: b.checkOnly === true };
    }
    case "multiRead": {
      const ops: unknown[] = Array.isArray(b.ops) ? b.ops : [];
      if (ops.length > limits.multiOpsMax) throw new InvalidRequest(Code.BADARGUMENTS, `multiRead has ${ops.length} ops, max ${limits.multiOpsMax}`);
      return { type: "multiRead", ops: ops.map((o) => ({ type: (o as Obj).children === true ? "getChildren" : "getData", path: str((o as Obj).path) })) };
    }
    case "whoAmI":
      return { type: "whoAmI" };
    case "auth":
      return { type: "auth", scheme: str(b.scheme), auth: bytes(b.auth) };
    case "setSequence":
      return { type: "setSequence", path: str(b.path), next: num(b.next) };
    default:
      throw new InvalidRequest(Code.UNIMPLEMENTED, "unknown operation");
  }
}

/** A Request as the plain object protobufjs encodes (for messages that embed one). */
export function requestToObject(req: Request): Record<string, unknown> {
  return requestToWire(req);
}

/** The inverse of requestToObject; throws KeeperError-free Errors for invalid content. */
export function requestFromObject(obj: Record<string, unknown>): Request {
  try {
    return requestFromWire(obj, false);
  } catch (e) {
    throw new FrameError(`bad embedded request: ${(e as Error).message}`);
  }
}

function requestToWire(req: Request): Obj {
  switch (req.type) {
    case "create":
      return { create: { path: req.path, data: req.data, acl: requestAclToWire(req.acl), mode: req.mode, ttlMs: req.ttlMs, nullData: req.nullData === true } };
    case "delete":
      return { delete: { path: req.path, version: req.version } };
    case "exists":
    case "getData":
    case "getChildren":
      return { [req.type]: { path: req.path, watch: req.watch } };
    case "setData":
      return { setData: { path: req.path, data: req.data, version: req.version, nullData: req.nullData === true } };
    case "check":
      return { check: { path: req.path, version: req.version } };
    case "multi":
      return { multi: { ops: req.ops.map(requestToWire) } };
    case "sync":
      return { sync: { path: req.path } };
    case "getACL":
      return { getAcl: { path: req.path } };
    case "setACL":
      return { setAcl: { path: req.path, acl: requestAclToWire(req.acl), version: req.version } };
    case "setWatches":
      return { setWatches: { relativeZxid: req.relativeZxid, dataWatches: req.dataWatches, existWatches: req.existWatches, childWatches: req.childWatches, persistentWatches: req.persistentWatches ?? [], persistentRecursiveWatches: req.persistentRecursiveWatches ?? [] } };
    case "ping":
      return { ping: {} };
    case "closeSession":
      return { closeSession: {} };
    case "getAllChildrenNumber":
      return { getAllChildrenNumber: { path: req.path } };
    case "getEphemerals":
      return { getEphemerals: { prefix: req.prefix } };
    case "addWatch":
      return { addWatch: { path: req.path, mode: req.mode } };
    case "removeWatches":
      return { removeWatches: { path: req.path, watcherType: req.watcherType, checkOnly: req.checkOnly } };
    case "multiRead":
      return { multiRead: { ops: req.ops.map((o) => ({ path: o.path, children: o.type === "getChildren" })) } };
    case "whoAmI":
      return { whoAmI: {} };
    case "auth":
      return { auth: { scheme: req.scheme, auth: req.auth } };
    case "setSequence":
      return { setSequence: { path: req.path, next: req.next } };
  }
}

function resultToWire(res: Result): Obj {
  switch (res.type) {
    case "create":
      return { create: { path: res.path, stat: statToWire(res.stat) } };
    case "exists":
    case "setData":
    case "setACL":
    case "setSequence":
      return { [res.type === "setACL" ? "setAcl" : res.type]: { stat: statToWire(res.stat) } };
    case "getData":
      return { getData: { data: res.data, stat: statToWire(res.stat), nullData: res.nullData === true } };
    case "getChildren":
      return { getChildren: { children: res.children, stat: statToWire(res.stat) } };
    case "multi":
      return { multi: { results: res.results.map((r) => (r.type === "error" ? { err: r.err } : { err: 0, ...resultToWire(r) })) } };
    case "sync":
      return { sync: { path: res.path } };
    case "getACL":
      return { getAcl: { acl: res.acl, stat: statToWire(res.stat) } };
    case "getAllChildrenNumber":
      return { getAllChildrenNumber: { count: res.count } };
    case "getEphemerals":
      return { getEphemerals: { paths: res.paths } };
    case "multiRead":
      return {
        multiRead: {
          results: res.results.map((r) =>
            r.type === "error" ? { err: r.err } : r.type === "getData" ? { err: 0, data: r.data, stat: statToWire(r.stat), nullData: r.nullData === true } : { err: 0, children: r.children, isChildren: true },
          ),
        },
      };
    case "whoAmI":
      return { whoAmI: { clientInfo: res.clientInfo } };
    case "delete":
    case "check":
    case "setWatches":
    case "ping":
    case "closeSession":
    case "addWatch":
    case "removeWatches":
      return { [res.type]: {} };
    case "auth":
      return { auth: {} };
  }
}

function resultFromWire(r: Obj): Result | undefined {
  const which: string | undefined = r.result;
  if (which === undefined) return undefined;
  const b: Obj = r[which] ?? {};
  switch (which) {
    case "create":
      return { type: "create", path: str(b.path), stat: statFromWire(b.stat) };
    case "exists":
    case "setData":
    case "setSequence":
      return { type: which, stat: statFromWire(b.stat) };
    case "setAcl":
      return { type: "setACL", stat: statFromWire(b.stat) };
    case "getData":
      return { type: "getData", data: bytes(b.data), stat: statFromWire(b.stat), ...nullData(b) };
    case "getChildren":
      return { type: "getChildren", children: Array.isArray(b.children) ? b.children.map(str) : [], stat: statFromWire(b.stat) };
    case "multi": {
      const results: MultiOpResult[] = (Array.isArray(b.results) ? b.results : []).map((x: Obj) => {
        const inner = resultFromWire(x);
        return num(x.err) !== 0 || inner === undefined ? { type: "error", err: num(x.err) as Code } : (inner as MultiOpResult);
      });
      return { type: "multi", results };
    }
    case "sync":
      return { type: "sync", path: str(b.path) };
    case "getAcl":
      return { type: "getACL", acl: aclFromWire(b.acl), stat: statFromWire(b.stat) };
    case "getAllChildrenNumber":
      return { type: "getAllChildrenNumber", count: num(b.count) };
    case "getEphemerals":
      return { type: "getEphemerals", paths: Array.isArray(b.paths) ? b.paths.map(str) : [] };
    case "multiRead":
      return {
        type: "multiRead",
        results: (Array.isArray(b.results) ? b.results : []).map((x: Obj): ReadOpResult =>
          num(x.err) !== 0 ? { type: "error", err: num(x.err) as Code } : x.isChildren === true ? { type: "getChildren", children: Array.isArray(x.children) ? x.children.map(str) : [] } : { type: "getData", data: bytes(x.data), stat: statFromWire(x.stat), ...nullData(x) },
        ),
      };
    case "whoAmI":
      return { type: "whoAmI", clientInfo: (Array.isArray(b.clientInfo) ? b.clientInfo : []).map((c: Obj) => ({ authScheme: str(c.authScheme), user: str(c.user) })) };
    case "delete":
    case "check":
    case "setWatches":
    case "ping":
    case "closeSession":
    case "addWatch":
    case "removeWatches":
    case "auth":
      return { type: which } as Result;
    default:
      return undefined;
  }
}

/** Replies may carry whatever data a server was configured to accept (at most 64 MiB). */
const SERVER_FRAME_BYTES_MAX = 64 * 1024 * 1024 + 64 * 1024;

function decodeFrame(type: protobuf.Type, data: Uint8Array, frameBytesMax: number): Obj {
  if (data.byteLength > frameBytesMax) throw new FrameError(`frame of ${data.byteLength} bytes exceeds ${frameBytesMax}`);
  try {
    return type.toObject(type.decode(data), { oneofs: true, defaults: false, bytes: Uint8Array as never }) as Obj;
  } catch (e) {
    throw new FrameError(`undecodable frame: ${(e as Error).message}`);
  }
}

export function encodeClientMessage(msg: Exclude<ClientMessage, { kind: "invalid" }>): Uint8Array {
  const obj = msg.kind === "connect" ? { connect: { ...msg, kind: undefined } } : { request: { xid: msg.xid, ...requestToWire(msg.request) } };
  return ClientFrame.encode(ClientFrame.fromObject(obj)).finish();
}

export function decodeClientMessage(data: Uint8Array, frameBytesMax: number = limits.frameBytesMax): ClientMessage {
  try {
    return decodeClientFrame(decodeFrame(ClientFrame, data, frameBytesMax));
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw new FrameError(`bad frame: ${(e as Error).message}`);
  }
}

function decodeClientFrame(f: Obj): ClientMessage {
  if (f.frame === "connect") {
    const c: Obj = f.connect ?? {};
    return {
      kind: "connect",
      protocolVersion: num(c.protocolVersion),
      sessionId: asSessionId(num(c.sessionId)),
      password: bytes(c.password),
      timeoutMs: num(c.timeoutMs),
      lastZxidSeen: asZxid(num(c.lastZxidSeen)),
      canBeReadOnly: c.canBeReadOnly === true,
    };
  }
  if (f.frame === "request") {
    const r: Obj = f.request ?? {};
    const xid = num(r.xid);
    try {
      return { kind: "request", xid, request: requestFromWire(r, false) };
    } catch (e) {
      if (e instanceof InvalidRequest) return { kind: "invalid", xid, err: e.err, reason: e.message };
      throw new FrameError(`bad request: ${(e as Error).message}`);
    }
  }
  throw new FrameError("frame carries neither connect nor request");
}

export function encodeServerMessage(msg: ServerMessage): Uint8Array {
  let obj: Obj;
  switch (msg.kind) {
    case "connected":
      obj = { connected: { ...msg, kind: undefined } };
      break;
    case "response":
      obj = { response: { xid: msg.xid, zxid: msg.zxid, err: msg.err, ...(msg.result ? resultToWire(msg.result) : {}) } };
      break;
    case "event":
      obj = { event: { type: msg.type, state: msg.state, path: msg.path, zxid: msg.zxid } };
      break;
    case "close":
      obj = { close: { code: msg.code, reason: msg.reason } };
      break;
  }
  return ServerFrame.encode(ServerFrame.fromObject(obj)).finish();
}

export function decodeServerMessage(data: Uint8Array): ServerMessage {
  try {
    return decodeServerFrame(decodeFrame(ServerFrame, data, SERVER_FRAME_BYTES_MAX));
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw new FrameError(`bad frame: ${(e as Error).message}`);
  }
}

function decodeServerFrame(f: Obj): ServerMessage {
  switch (f.frame) {
    case "connected": {
      const c: Obj = f.connected ?? {};
      return {
        kind: "connected",
        protocolVersion: num(c.protocolVersion),
        sessionId: asSessionId(num(c.sessionId)),
        password: bytes(c.password),
        timeoutMs: num(c.timeoutMs),
        readOnly: c.readOnly === true,
        lastZxid: asZxid(num(c.lastZxid)),
        serverId: num(c.serverId),
      };
    }
    case "response": {
      const r: Obj = f.response ?? {};
      const result = resultFromWire(r);
      return { kind: "response", xid: num(r.xid), zxid: asZxid(num(r.zxid)), err: num(r.err) as Code, ...(result ? { result } : {}) };
    }
    case "event": {
      const e: Obj = f.event ?? {};
      return { kind: "event", type: num(e.type), state: num(e.state), path: str(e.path), zxid: asZxid(num(e.zxid)) };
    }
    case "close": {
      const c: Obj = f.close ?? {};
      return { kind: "close", code: num(c.code) as Code, reason: str(c.reason) };
    }
    default:
      throw new FrameError("server frame of unknown kind");
  }
}
