// ZooKeeper's wire records <-> Keeper's requests and results. The server already speaks
// ZooKeeper's codes and semantics, so this is a mapping of shapes, not of meaning.
import {
  Code,
  CreateMode,
  KeeperError,
  type RequestAcl,
  type JuteAcl,
  OpCode,
  zkEphemeralOwner,
  type MultiOp,
  type MultiOpResult,
  type ReadOpResult,
  type Request,
  type Result,
  type Stat,
  type JuteStat,
  type ZkMultiOp,
  type ZkMultiResult,
  type ZkRequest,
  type ZkResponseBody,
  asZxid,
  WatcherType,
  AddWatchMode,
  limits,
} from "@keeper/protocol";

const EMPTY = new Uint8Array(0);

export function toJuteStat(s: Stat): JuteStat {
  return {
    czxid: BigInt(s.czxid),
    mzxid: BigInt(s.mzxid),
    ctime: BigInt(s.ctime),
    mtime: BigInt(s.mtime),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: zkEphemeralOwner(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
    pzxid: BigInt(s.pzxid),
  };
}

/** A ZooKeeper long that is a Keeper zxid: beyond 2^53 no Keeper zxid can be, so clamp. */
function zxidOf(v: bigint) {
  return asZxid(v < 0n ? 0 : v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));
}

/**
 * A jute ACL list, nulls and all: the leader's prep judges a null scheme or id as ZooKeeper's
 * fixupACL does, in its place among the other checks (core/requests/acl.ts).
 */
function aclOf(list: JuteAcl[]): RequestAcl[] {
  return list.map((a) => ({ perms: a.perms, scheme: a.scheme, id: a.id }));
}

/** A create's mode: the opcode says container, the flags say the rest (as ZooKeeper's CreateMode.fromFlag). */
function createOf(r: Extract<ZkRequest, { type: "create" | "create2" | "createContainer" | "createTTL" }>): Extract<Request, { type: "create" }> {
  const mode = r.type === "createContainer" ? CreateMode.CONTAINER : (r.flags as CreateMode);
  return { type: "create", path: r.path, data: r.data ?? EMPTY, acl: aclOf(r.acl), mode, ttlMs: r.type === "createTTL" ? Number(r.ttl) : 0, ...(r.data === null ? { nullData: true } : {}) };
}

function multiOpOf(op: ZkMultiOp): MultiOp {
  switch (op.type) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL":
      return createOf(op);
    case "delete":
      return { type: "delete", path: op.path, version: op.version };
    case "setData":
      return { type: "setData", path: op.path, data: op.data ?? EMPTY, version: op.version, ...(op.data === null ? { nullData: true } : {}) };
    case "check":
      return { type: "check", path: op.path, version: op.version };
  }
}

/**
 * The native protocol's cap on ops in a multi or multiRead (codec.ts), here too. ZooKeeper has
 * none but jute.maxbuffer; decoding is bounded by the frame, running the ops is what costs, so
 * the request is refused (BADARGUMENTS, the session goes on) before any op is looked at.
 */
function checkOpCount(type: "multi" | "multiRead", count: number): void {
  if (count > limits.multiOpsMax) throw new KeeperError(Code.BADARGUMENTS, `${type} has ${count} ops, max ${limits.multiOpsMax}`);
}

/**
 * The Keeper request for a ZooKeeper one, or undefined when Keeper does not offer it. Throws
 * KeeperError for a well-formed request ZooKeeper fails as a whole (the caller answers its xid).
 */
export function requestOf(r: ZkRequest): Request | undefined {
  switch (r.type) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL":
      return createOf(r);
    case "delete":
      return { type: "delete", path: r.path, version: r.version };
    case "exists":
    case "getData":
      return { type: r.type, path: r.path, watch: r.watch };
    case "getChildren":
    case "getChildren2":
      return { type: "getChildren", path: r.path, watch: r.watch };
    case "setData":
      return { type: "setData", path: r.path, data: r.data ?? EMPTY, version: r.version, ...(r.data === null ? { nullData: true } : {}) };
    case "getACL":
      return { type: "getACL", path: r.path };
    case "setACL":
      return { type: "setACL", path: r.path, acl: aclOf(r.acl), version: r.version };
    case "sync":
      return { type: "sync", path: r.path };
    case "check":
      return { type: "check", path: r.path, version: r.version };
    case "multi":
      checkOpCount("multi", r.ops.length);
      return { type: "multi", ops: r.ops.map(multiOpOf) };
    case "multiRead":
      checkOpCount("multiRead", r.ops.length);
      return { type: "multiRead", ops: r.ops.map((o) => ({ type: o.type, path: o.path })) };
    case "ping":
      return { type: "ping" };
    case "closeSession":
      return { type: "closeSession" };
    case "whoAmI":
      return { type: "whoAmI" };
    case "auth":
      return { type: "auth", scheme: r.scheme, auth: r.auth };
    case "setWatches":
    case "setWatches2":
      return {
        type: "setWatches",
        relativeZxid: zxidOf(r.relativeZxid),
        dataWatches: r.dataWatches,
        existWatches: r.existWatches,
        childWatches: r.childWatches,
        ...(r.type === "setWatches2" ? { persistentWatches: r.persistentWatches, persistentRecursiveWatches: r.persistentRecursiveWatches } : {}),
      };
    case "getEphemerals":
      return { type: "getEphemerals", prefix: r.prefixPath };
    case "getAllChildrenNumber":
      return { type: "getAllChildrenNumber", path: r.path };
    case "addWatch":
      if (r.mode !== AddWatchMode.PERSISTENT && r.mode !== AddWatchMode.PERSISTENT_RECURSIVE) return undefined;
      return { type: "addWatch", path: r.path, mode: r.mode };
    case "removeWatches":
    case "checkWatches":
      if (!Object.values(WatcherType).includes(r.watcherType as WatcherType)) return undefined;
      return { type: "removeWatches", path: r.path, watcherType: r.watcherType as WatcherType, checkOnly: r.type === "checkWatches" };
    case "deleteContainer":
    case "unknown":
      return undefined;
  }
}

/**
 * A multi's results in ZooKeeper's shape. ZooKeeper 3.8 rebuilds a multi's creates from their
 * create mode (MultiOperationRecord): a create or create2 becomes a plain create and answers
 * with its path alone, while a container create keeps its own opcode and answers with the Stat.
 */
function multiResultOf(results: MultiOpResult[], ops: ZkMultiOp[]): ZkMultiResult[] {
  return results.map((res, i): ZkMultiResult => {
    switch (res.type) {
      case "create":
        return ops[i]?.type === "createContainer" || ops[i]?.type === "createTTL" ? { type: "create2", path: res.path, stat: toJuteStat(res.stat) } : { type: "create", path: res.path };
      case "setData":
        return { type: "setData", stat: toJuteStat(res.stat) };
      case "delete":
      case "check":
        return { type: res.type };
      case "error":
        return { type: "error", err: res.err };
    }
  });
}

function readResultOf(r: ReadOpResult) {
  return r.type === "getData" ? { type: "getData" as const, data: r.nullData ? null : r.data, stat: toJuteStat(r.stat) } : r;
}

/** The ZooKeeper reply body for `result`, shaped by what the client asked (`req`). */
export function responseOf(req: ZkRequest, result: Result | undefined): ZkResponseBody | undefined {
  if (!result) return undefined;
  switch (result.type) {
    case "create":
      return req.type === "create" ? { type: "create", path: result.path } : { type: req.type === "createTTL" ? "createTTL" : req.type === "createContainer" ? "createContainer" : "create2", path: result.path, stat: toJuteStat(result.stat) };
    case "exists":
    case "setData":
    case "setACL":
      return { type: result.type, stat: toJuteStat(result.stat) };
    case "getData":
      return { type: "getData", data: result.nullData ? null : result.data, stat: toJuteStat(result.stat) };
    case "getChildren":
      return req.type === "getChildren2" ? { type: "getChildren2", children: result.children, stat: toJuteStat(result.stat) } : { type: "getChildren", children: result.children };
    case "getACL":
      return { type: "getACL", acl: result.acl, stat: toJuteStat(result.stat) };
    case "sync":
      return { type: "sync", path: result.path };
    case "multi":
      return { type: "multi", results: multiResultOf(result.results, req.type === "multi" ? req.ops : []) };
    case "multiRead":
      return { type: "multiRead", results: result.results.map(readResultOf) };
    case "getAllChildrenNumber":
      return { type: "getAllChildrenNumber", totalNumber: result.count };
    case "getEphemerals":
      return { type: "getEphemerals", ephemerals: result.paths };
    case "whoAmI":
      return { type: "whoAmI", clientInfo: result.clientInfo };
    case "addWatch":
      return { type: "addWatch" };
    case "removeWatches":
      return { type: req.type === "checkWatches" ? "checkWatches" : "removeWatches" };
    case "setWatches":
      return { type: req.type === "setWatches2" ? "setWatches2" : "setWatches" };
    case "delete":
    case "check":
    case "ping":
    case "closeSession":
    case "auth":
      return { type: result.type };
    case "setSequence":
      // Keeper's own: no ZooKeeper opcode asks for it, so no ZooKeeper reply carries it.
      return undefined;
  }
}

export { OpCode };
