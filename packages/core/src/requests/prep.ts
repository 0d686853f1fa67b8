// Prep: (view, request, zxid, time) -> transaction. Runs only on the leader. A request that
// fails a check against the state becomes an error transaction, so its reply is ordered after
// every earlier write and is only given once those commit; a request that is invalid whatever
// the state (bad path, oversized data) is answered at once.
import { CONTAINER_OWNER, Code, Perms, TTL_MS_MAX, isEphemeral, isSequential, isTtlMode, parentOf, pathProblem, sequenceSuffix, ttlOwner, CreateMode, asSessionId, type Acl, type Identity, type MultiOp, type Request, type RequestAcl, type SessionId, type Stat, type Zxid } from "@keeper/protocol";
import { assertNever } from "../assert.ts";
import { DataTree, SYSTEM_PATHS } from "../tree/data-tree.ts";
import type { TreeTxn, Txn, TxnBody } from "../txn.ts";
import { AclFailure, aclAllows, fixupAcl } from "./acl.ts";
import { PendingView, type NodeRecord } from "./pending-view.ts";

export interface PrepContext {
  view: PendingView;
  /** The client's identities for ACL checks; undefined for the system (reaper, expiry), which may do anything. */
  ids?: readonly Identity[];
  zxid: Zxid;
  time: number;
  sessionId: SessionId;
  cxid: number;
  dataBytesMax: number;
}

export type PrepOutcome = { kind: "txn"; txn: Txn } | { kind: "error"; err: Code; reason: string };

/** A failed check inside prep; turned into an outcome before prep returns. */
class Rejection {
  constructor(readonly err: Code, readonly reason: string, readonly stateless: boolean) {}
}
const reject = (err: Code, reason: string, stateless = false): never => {
  throw new Rejection(err, reason, stateless);
};

export type WriteRequest = Extract<Request, { type: "create" | "delete" | "setData" | "setACL" | "check" | "multi" | "sync" | "setSequence" }>;

/**
 * The checks that need no state (path, data size, ACL, mode), so the node a client is
 * connected to can refuse a bad request at once instead of sending it to the leader. A multi
 * is left to prep, which reports its problems per op.
 */
/** validateWrite's stand-in state: PendingView only reads its tree, so one serves every call. */
let emptyTree: DataTree | undefined;

export function validateWrite(request: WriteRequest, dataBytesMax: number, ids?: readonly Identity[]): { err: Code; reason: string } | undefined {
  if (request.type === "multi") return undefined;
  if (request.type === "sync") {
    const problem = pathProblem(request.path);
    return problem ? { err: Code.BADARGUMENTS, reason: problem } : undefined;
  }
  const view = new PendingView((emptyTree ??= new DataTree()));
  try {
    prepSingle({ view, zxid: 1 as Zxid, time: 0, sessionId: asSessionId(0), cxid: 0, dataBytesMax, ...(ids ? { ids } : {}) }, request);
  } catch (e) {
    if (e instanceof Rejection && e.stateless) return { err: e.err, reason: e.reason };
    if (e instanceof AclFailure) return { err: Code.MARSHALLINGERROR, reason: e.reason };
    if (!(e instanceof Rejection)) throw e;
  }
  return undefined;
}

export function prepRequest(ctx: PrepContext, request: WriteRequest): PrepOutcome {
  try {
    return prepChecked(ctx, request);
  } catch (e) {
    // As ZooKeeper's ErrorTxn for an unchecked exception: the whole request (a whole multi too).
    if (e instanceof AclFailure) return txn(ctx, { type: "error", err: Code.MARSHALLINGERROR });
    throw e;
  }
}

/** The outcome as a transaction stamped with the request's zxid, time, session and cxid. */
function txn(ctx: PrepContext, body: TxnBody): PrepOutcome {
  return { kind: "txn", txn: { hdr: { zxid: ctx.zxid, time: ctx.time, sessionId: ctx.sessionId, cxid: ctx.cxid }, body } };
}

function prepChecked(ctx: PrepContext, request: WriteRequest): PrepOutcome {
  if (request.type === "multi") return txn(ctx, prepMulti(ctx, request.ops));
  if (request.type === "sync") {
    const problem = pathProblem(request.path);
    return problem ? { kind: "error", err: Code.BADARGUMENTS, reason: problem } : txn(ctx, { type: "sync", path: request.path });
  }
  try {
    return txn(ctx, prepSingle(ctx, request));
  } catch (e) {
    if (!(e instanceof Rejection)) throw e;
    return e.stateless ? { kind: "error", err: e.err, reason: e.reason } : txn(ctx, { type: "error", err: e.err });
  }
}

/** All or nothing: the first failing op rolls back the view and the multi becomes an error. */
function prepMulti(ctx: PrepContext, ops: MultiOp[]): TxnBody {
  ctx.view.begin();
  const txns: TreeTxn[] = [];
  for (let i = 0; i < ops.length; i++) {
    try {
      txns.push(prepOp(ctx, ops[i]!));
    } catch (e) {
      ctx.view.rollback();
      if (!(e instanceof Rejection)) throw e;
      const multiErrs = ops.map((_, j) => (j < i ? Code.OK : j === i ? e.err : Code.RUNTIMEINCONSISTENCY));
      return { type: "error", err: e.err, multiErrs };
    }
  }
  ctx.view.commit();
  return { type: "multi", ops: txns };
}

/** A write that is neither a multi nor a sync. */
function prepSingle(ctx: PrepContext, request: Exclude<WriteRequest, { type: "multi" | "sync" }>): TxnBody {
  return request.type === "setSequence" ? prepSetSequence(ctx, request) : prepOp(ctx, request);
}

/**
 * Keeper's setSequence: the counter only rises, so no sequential name is handed out twice.
 * ADMIN, as for setACL: how a node's children are named is the node owner's to change, and
 * a client that may only create children must not skip their numbers ahead.
 */
function prepSetSequence(ctx: PrepContext, op: Extract<Request, { type: "setSequence" }>): TxnBody {
  checkPath(op.path);
  if (!Number.isInteger(op.next) || op.next < 0 || op.next > SEQUENCE_MAX) reject(Code.BADARGUMENTS, `a sequence number is 0..${SEQUENCE_MAX}, got ${op.next}`, true);
  const rec = mustExist(ctx, op.path);
  checkPermission(ctx, rec.acl, Perms.ADMIN, op.path);
  const cversion = Math.max(rec.stat.cversion, op.next);
  ctx.view.put(op.path, { acl: rec.acl, stat: { ...rec.stat, cversion } }, ctx.zxid);
  return { type: "setSequence", path: op.path, cversion };
}

/** The largest counter: ZooKeeper's cversion is an int32. */
const SEQUENCE_MAX = 0x7fff_ffff;

function prepOp(ctx: PrepContext, op: MultiOp | Extract<Request, { type: "setACL" }>): TreeTxn {
  switch (op.type) {
    case "create":
      return prepCreate(ctx, op);
    case "delete":
      return prepDelete(ctx, op.path, op.version);
    case "setData": {
      checkPath(op.path);
      checkData(ctx, op.data);
      const rec = mustExist(ctx, op.path);
      checkPermission(ctx, rec.acl, Perms.WRITE, op.path);
      checkVersion(op.path, rec.stat.version, op.version);
      const version = rec.stat.version + 1;
      ctx.view.put(op.path, { acl: rec.acl, stat: { ...rec.stat, version, mzxid: ctx.zxid, mtime: ctx.time, dataLength: op.data.length } }, ctx.zxid);
      return { type: "setData", path: op.path, data: op.data, version, ...(op.nullData ? { nullData: true } : {}) };
    }
    case "setACL": {
      checkPath(op.path);
      const acl = checkAcl(ctx, op.acl);
      const rec = mustExist(ctx, op.path);
      checkPermission(ctx, rec.acl, Perms.ADMIN, op.path);
      checkVersion(op.path, rec.stat.aversion, op.version);
      const aversion = rec.stat.aversion + 1;
      ctx.view.put(op.path, { acl, stat: { ...rec.stat, aversion } }, ctx.zxid);
      return { type: "setACL", path: op.path, acl, aversion };
    }
    case "check": {
      checkPath(op.path);
      const rec = mustExist(ctx, op.path);
      checkPermission(ctx, rec.acl, Perms.READ, op.path);
      checkVersion(op.path, rec.stat.version, op.version);
      return { type: "check", path: op.path };
    }
    default:
      return assertNever(op, "write op");
  }
}

const CREATE_MODES: ReadonlySet<number> = new Set(Object.values(CreateMode));

function prepCreate(ctx: PrepContext, op: Extract<Request, { type: "create" }>): TreeTxn {
  // ZooKeeper's CreateMode.fromFlag, its first check: an unknown flag is BADARGUMENTS, never a
  // persistent node.
  if (!CREATE_MODES.has(op.mode)) reject(Code.BADARGUMENTS, `unknown create mode ${op.mode}`, true);
  const sequential = isSequential(op.mode);
  if (isTtlMode(op.mode)) {
    if (!Number.isInteger(op.ttlMs) || op.ttlMs <= 0 || op.ttlMs > TTL_MS_MAX) reject(Code.BADARGUMENTS, `a TTL node needs 0 < ttl <= ${TTL_MS_MAX} ms, got ${op.ttlMs}`, true);
  } else if (op.ttlMs !== 0 && op.ttlMs !== undefined) {
    reject(Code.BADARGUMENTS, `ttl is only for TTL create modes (mode ${op.mode})`, true);
  }
  // ZooKeeper's order: only a path with no "/" at all (or a NUL) is refused before the parent
  // is looked up; any other bad path is NONODE when its parent is missing, else BADARGUMENTS.
  if (op.path.lastIndexOf("/") < 0 || op.path.includes("\0")) reject(Code.BADARGUMENTS, `invalid path ${JSON.stringify(op.path)}`, true);
  if (op.path === "/" && !sequential) reject(Code.NODEEXISTS, "the root always exists");
  checkData(ctx, op.data);
  const acl = checkAcl(ctx, op.acl);
  // A sequential name's parent is found with the counter in place: "/a/" -> "/a".
  const parentPath = sequential ? parentOf(op.path + "0") : op.path.slice(0, Math.max(1, op.path.lastIndexOf("/")));
  const parent = ctx.view.get(parentPath) ?? reject(Code.NONODE, `parent ${parentPath} does not exist`);
  checkPermission(ctx, parent.acl, Perms.CREATE, parentPath);
  const problem = pathProblem(op.path, sequential);
  if (problem) reject(Code.BADARGUMENTS, `invalid path ${JSON.stringify(op.path)}: ${problem}`);
  const path = sequential ? op.path + sequenceSuffix(parent.stat.cversion) : op.path;
  if (ctx.view.get(path)) reject(Code.NODEEXISTS, `${path} exists`);
  if (parent.stat.ephemeralOwner > 0) reject(Code.NOCHILDRENFOREPHEMERALS, `${parentPath} is ephemeral`);
  const owner = isEphemeral(op.mode) ? ctx.sessionId : op.mode === CreateMode.CONTAINER ? CONTAINER_OWNER : isTtlMode(op.mode) ? ttlOwner(op.ttlMs) : 0;
  const stat: Stat = {
    czxid: ctx.zxid, mzxid: ctx.zxid, pzxid: ctx.zxid, ctime: ctx.time, mtime: ctx.time,
    version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, dataLength: op.data.length, numChildren: 0,
  };
  ctx.view.put(path, { stat, acl }, ctx.zxid);
  ctx.view.put(parentPath, { acl: parent.acl, stat: { ...parent.stat, cversion: parent.stat.cversion + 1, numChildren: parent.stat.numChildren + 1, pzxid: ctx.zxid } }, ctx.zxid);
  return { type: "create", path, data: op.data, acl, ephemeralOwner: owner, ...(op.nullData ? { nullData: true } : {}) };
}

function prepDelete(ctx: PrepContext, path: string, version: number): TreeTxn {
  checkPath(path);
  if (SYSTEM_PATHS.includes(path)) reject(Code.BADARGUMENTS, `${path} is a system node and cannot be deleted`, true);
  const parentPath = parentOf(path);
  const parent = ctx.view.get(parentPath) ?? reject(Code.NONODE, `${parentPath} does not exist`);
  // ZooKeeper's order: the parent's DELETE permission before the node itself is looked up.
  checkPermission(ctx, parent.acl, Perms.DELETE, parentPath);
  const rec = mustExist(ctx, path);
  checkVersion(path, rec.stat.version, version);
  if (rec.stat.numChildren > 0) reject(Code.NOTEMPTY, `${path} has ${rec.stat.numChildren} children`);
  deleteInView(ctx.view, parentPath, parent, path, ctx.zxid);
  return { type: "delete", path };
}

function deleteInView(view: PendingView, parentPath: string, parent: NodeRecord, path: string, zxid: Zxid): void {
  view.put(path, null, zxid);
  view.put(parentPath, { acl: parent.acl, stat: { ...parent.stat, numChildren: parent.stat.numChildren - 1, pzxid: zxid } }, zxid);
}

/** closeSession: the leader lists the session's ephemerals as the view has them. */
export function prepCloseSession(view: PendingView, zxid: Zxid, time: number, sessionId: SessionId, cxid: number): Txn {
  const ephemerals = view.ephemerals(sessionId);
  for (const path of ephemerals) {
    const parentPath = parentOf(path);
    deleteInView(view, parentPath, view.get(parentPath)!, path, zxid);
  }
  return { hdr: { zxid, time, sessionId, cxid }, body: { type: "closeSession", ephemerals } };
}

export function prepCreateSession(zxid: Zxid, time: number, timeoutMs: number, password: Uint8Array): Txn {
  // The session's id is the zxid of the transaction that creates it: unique across the
  // ensemble and across restarts without any coordination.
  return { hdr: { zxid, time, sessionId: asSessionId(zxid), cxid: 0 }, body: { type: "createSession", timeoutMs, password } };
}

function checkPath(path: string): void {
  const problem = pathProblem(path);
  if (problem) reject(Code.BADARGUMENTS, `invalid path ${JSON.stringify(path)}: ${problem}`, true);
}

function checkData(ctx: PrepContext, data: Uint8Array): void {
  if (data.length > ctx.dataBytesMax) reject(Code.BADARGUMENTS, `data of ${data.length} bytes exceeds the limit of ${ctx.dataBytesMax}`, true);
}

/** The ACL to store: validated, duplicates removed, "auth" entries expanded (ZooKeeper's fixupACL). */
function checkAcl(ctx: PrepContext, acl: RequestAcl[]): Acl[] {
  const fixed = fixupAcl(acl, ctx.ids ?? []);
  if (typeof fixed === "string") return reject(Code.INVALIDACL, fixed, true);
  return fixed;
}

/** NOAUTH unless the node's ACL grants `perm` to the client (the system may do anything). */
function checkPermission(ctx: PrepContext, acl: readonly Acl[], perm: number, path: string): void {
  if (ctx.ids !== undefined && !aclAllows(acl, perm, ctx.ids)) reject(Code.NOAUTH, `the ACL of ${path} does not grant this client the permission`);
}

function mustExist(ctx: PrepContext, path: string): NodeRecord {
  return ctx.view.get(path) ?? reject(Code.NONODE, `${path} does not exist`);
}

function checkVersion(path: string, actual: number, expected: number): void {
  if (expected !== -1 && expected !== actual) reject(Code.BADVERSION, `${path} is at version ${actual}, not ${expected}`);
}

