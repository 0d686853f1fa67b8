// The data and session records of ZooKeeper's client protocol (zookeeper.jute, modules
// org.apache.zookeeper.data and the session half of org.apache.zookeeper.proto).
// Each record is a pair of functions over JuteWriter/JuteReader, field for field in jute order.

import type { Acl } from "../types.ts";
import { JuteReader, JuteWriter, type JuteReadOptions } from "./buffer.ts";

/** How one record is written and read. */
export interface JuteRecord<T> {
  write(w: JuteWriter, value: T): void;
  read(r: JuteReader): T;
}

/** Encodes one record on its own (no length prefix). */
export function encodeJuteRecord<T>(record: JuteRecord<T>, value: T): Uint8Array {
  const w = new JuteWriter();
  record.write(w, value);
  return w.finish();
}

/** Decodes one record from the start of `bytes`; trailing bytes are ignored, as ZooKeeper does. */
export function decodeJuteRecord<T>(record: JuteRecord<T>, bytes: Uint8Array, options?: JuteReadOptions): T {
  return record.read(new JuteReader(bytes, options));
}

const nonNull = <T>(v: T[] | null): T[] => v ?? [];
const writeString = (w: JuteWriter, s: string): void => void w.ustring(s);
const readString = (r: JuteReader): string => r.string("vector element");

/** vector<ustring>: null decodes as an empty list (no ZooKeeper client sends null here). */
export function writeJuteStrings(w: JuteWriter, items: readonly string[]): void {
  w.vector(items, writeString);
}
export function readJuteStrings(r: JuteReader): string[] {
  return nonNull(r.vector(readString));
}

// ---------------------------------------------------------------------------------------- data

/** org.apache.zookeeper.data.Id */
export interface JuteId {
  scheme: string;
  id: string;
}
export const IdRecord: JuteRecord<JuteId> = {
  write(w, v) {
    w.ustring(v.scheme).ustring(v.id);
  },
  read(r) {
    return { scheme: r.string("Id.scheme"), id: r.string("Id.id") };
  },
};

/**
 * org.apache.zookeeper.data.ACL, flattened: on the wire it is `int perms` then an Id record.
 * Scheme and id are nullable as in jute: kazoo sends every empty string as null, so the `auth`
 * entry of CREATOR_ALL_ACL arrives with a null id. What a null means is the server's to judge
 * (ZooKeeper's fixupACL), not the decoder's.
 */
export interface JuteAcl {
  perms: number;
  scheme: string | null;
  id: string | null;
}
export const AclRecord: JuteRecord<JuteAcl> = {
  write(w, v) {
    w.int(v.perms).ustring(v.scheme).ustring(v.id);
  },
  read(r) {
    return { perms: r.int(), scheme: r.ustring(), id: r.ustring() };
  },
};

/** vector<ACL>: null decodes as an empty list (ZooKeeper rejects both with INVALIDACL). */
export function writeJuteAcls(w: JuteWriter, acl: readonly JuteAcl[]): void {
  w.vector(acl, AclRecord.write);
}
export function readJuteAcls(r: JuteReader): JuteAcl[] {
  return nonNull(r.vector(AclRecord.read));
}

/** org.apache.zookeeper.data.Stat with jute's own types: every `long` is a bigint. */
export interface JuteStat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}
export const StatRecord: JuteRecord<JuteStat> = {
  write(w, v) {
    w.long(v.czxid).long(v.mzxid).long(v.ctime).long(v.mtime);
    w.int(v.version).int(v.cversion).int(v.aversion);
    w.long(v.ephemeralOwner).int(v.dataLength).int(v.numChildren).long(v.pzxid);
  },
  read(r) {
    return {
      czxid: r.long(),
      mzxid: r.long(),
      ctime: r.long(),
      mtime: r.long(),
      version: r.int(),
      cversion: r.int(),
      aversion: r.int(),
      ephemeralOwner: r.long(),
      dataLength: r.int(),
      numChildren: r.int(),
      pzxid: r.long(),
    };
  },
};

/** org.apache.zookeeper.data.ClientInfo (whoAmI). */
export interface JuteClientInfo {
  authScheme: string;
  user: string;
}
export const ClientInfoRecord: JuteRecord<JuteClientInfo> = {
  write(w, v) {
    w.ustring(v.authScheme).ustring(v.user);
  },
  read(r) {
    return { authScheme: r.string("ClientInfo.authScheme"), user: r.string("ClientInfo.user") };
  },
};

// ------------------------------------------------------------------------------------- session

/**
 * ConnectRequest. `readOnly` is the trailing boolean that clients before 3.4 do not send: it is
 * written only when defined, and decoded only when a byte is left after `passwd`.
 */
export interface ZkConnectRequest {
  protocolVersion: number;
  lastZxidSeen: bigint;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly?: boolean;
}
export const ConnectRequestRecord: JuteRecord<ZkConnectRequest> = {
  write(w, v) {
    w.int(v.protocolVersion).long(v.lastZxidSeen).int(v.timeOut).long(v.sessionId).buffer(v.passwd);
    if (v.readOnly !== undefined) w.bool(v.readOnly);
  },
  read(r) {
    const req: ZkConnectRequest = {
      protocolVersion: r.int(),
      lastZxidSeen: r.long(),
      timeOut: r.int(),
      sessionId: r.long(),
      passwd: r.buffer() ?? new Uint8Array(0),
    };
    if (r.remaining > 0) req.readOnly = r.bool();
    return req;
  },
};

/** ConnectResponse; `readOnly` follows the same optional-trailing-byte rule as the request. */
export interface ZkConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly?: boolean;
}
export const ConnectResponseRecord: JuteRecord<ZkConnectResponse> = {
  write(w, v) {
    w.int(v.protocolVersion).int(v.timeOut).long(v.sessionId).buffer(v.passwd);
    if (v.readOnly !== undefined) w.bool(v.readOnly);
  },
  read(r) {
    const rsp: ZkConnectResponse = {
      protocolVersion: r.int(),
      timeOut: r.int(),
      sessionId: r.long(),
      passwd: r.buffer() ?? new Uint8Array(0),
    };
    if (r.remaining > 0) rsp.readOnly = r.bool();
    return rsp;
  },
};

export interface JuteRequestHeader {
  xid: number;
  type: number;
}
export const RequestHeaderRecord: JuteRecord<JuteRequestHeader> = {
  write(w, v) {
    w.int(v.xid).int(v.type);
  },
  read(r) {
    return { xid: r.int(), type: r.int() };
  },
};

export interface JuteReplyHeader {
  xid: number;
  zxid: bigint;
  err: number;
}
export const ReplyHeaderRecord: JuteRecord<JuteReplyHeader> = {
  write(w, v) {
    w.int(v.xid).long(v.zxid).int(v.err);
  },
  read(r) {
    return { xid: r.int(), zxid: r.long(), err: r.int() };
  },
};

/** WatcherEvent: `type` is an EventType, `state` a KeeperState. */
export interface JuteWatcherEvent {
  type: number;
  state: number;
  path: string;
}
export const WatcherEventRecord: JuteRecord<JuteWatcherEvent> = {
  write(w, v) {
    w.int(v.type).int(v.state).ustring(v.path);
  },
  read(r) {
    return { type: r.int(), state: r.int(), path: r.string("WatcherEvent.path") };
  },
};

/** AuthPacket; `type` is unused by ZooKeeper (clients send 0). A null `scheme` or `auth` decodes as empty. */
export interface JuteAuthPacket {
  type: number;
  scheme: string;
  auth: Uint8Array;
}
export const AuthPacketRecord: JuteRecord<JuteAuthPacket> = {
  write(w, v) {
    w.int(v.type).ustring(v.scheme).buffer(v.auth);
  },
  read(r) {
    // A null scheme names no provider: the server answers AUTHFAILED, as ZooKeeper does.
    return { type: r.int(), scheme: r.ustring() ?? "", auth: r.buffer() ?? new Uint8Array(0) };
  },
};

export interface JuteSetWatches {
  relativeZxid: bigint;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
}
export const SetWatchesRecord: JuteRecord<JuteSetWatches> = {
  write(w, v) {
    w.long(v.relativeZxid);
    writeJuteStrings(w, v.dataWatches);
    writeJuteStrings(w, v.existWatches);
    writeJuteStrings(w, v.childWatches);
  },
  read(r) {
    return { relativeZxid: r.long(), dataWatches: readJuteStrings(r), existWatches: readJuteStrings(r), childWatches: readJuteStrings(r) };
  },
};

export interface JuteSetWatches2 extends JuteSetWatches {
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}
export const SetWatches2Record: JuteRecord<JuteSetWatches2> = {
  write(w, v) {
    SetWatchesRecord.write(w, v);
    writeJuteStrings(w, v.persistentWatches);
    writeJuteStrings(w, v.persistentRecursiveWatches);
  },
  read(r) {
    const base = SetWatchesRecord.read(r);
    return { ...base, persistentWatches: readJuteStrings(r), persistentRecursiveWatches: readJuteStrings(r) };
  },
};

/** ErrorResponse: a bare error code (multi results, and the body of a successful addWatch). */
export interface JuteErrorResponse {
  err: number;
}
export const ErrorResponseRecord: JuteRecord<JuteErrorResponse> = {
  write(w, v) {
    w.int(v.err);
  },
  read(r) {
    return { err: r.int() };
  },
};

/** MultiHeader: precedes every op (and result) of a multi; `done` marks the terminator. */
export interface JuteMultiHeader {
  type: number;
  done: boolean;
  err: number;
}
export const MultiHeaderRecord: JuteRecord<JuteMultiHeader> = {
  write(w, v) {
    w.int(v.type).bool(v.done).int(v.err);
  },
  read(r) {
    return { type: r.int(), done: r.bool(), err: r.int() };
  },
};
