// A small leader pipeline for tests: prep against a PendingView with the next zxid and a fake
// clock, then apply to a ReplicatedState in zxid order. `submit` applies at once unless asked
// to queue, so a test can prepare several requests before any is applied, which is the case
// where prep must see the changes still in flight.
import { CreateMode, OPEN_ACL_UNSAFE, asSessionId, limits, makeZxid, type Acl, type Code, type Request, type SessionId, type Stat, type Zxid } from "@keeper/protocol";
import { PendingView, ReplicatedState, type DataTree, prepCloseSession, prepCreateSession, prepRequest, type PrepOutcome, type TreeOutcome, type Txn, type WriteRequest } from "../src/index.ts";

export const EPOCH = 1;
/** The fake clock starts here and moves `TIME_STEP_MS` per transaction. */
export const TIME_START_MS = 1_700_000_000_000;
export const TIME_STEP_MS = 10;
/** The session requests come from unless a test names another. */
export const SESSION = asSessionId(0x1234);

const enc = new TextEncoder();
const dec = new TextDecoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);
export const acl = (): Acl[] => OPEN_ACL_UNSAFE.map((a) => ({ ...a }));

export interface Submitted {
  prep: PrepOutcome;
  /** The zxid prep stamped; undefined when prep answered a stateless error. */
  zxid: Zxid | undefined;
  /** The apply outcome when the transaction was applied at once. */
  applied: TreeOutcome | undefined;
}

export interface SubmitOptions {
  sessionId?: SessionId;
  /** Queue the transaction instead of applying it; applyAll() applies the queue. */
  defer?: boolean;
}

export class Harness {
  readonly state: ReplicatedState;
  readonly view: PendingView;
  /** Every transaction applied, in order, for replay tests. */
  readonly log: Txn[] = [];
  private readonly queue: Txn[] = [];
  private counter = 0;
  private cxid = 0;

  constructor(readonly dataBytesMax: number = limits.dataBytesMax, state = new ReplicatedState()) {
    this.state = state;
    this.view = new PendingView(state.tree);
  }

  get tree() {
    return this.state.tree;
  }

  /** The zxid the next transaction will get. */
  get nextZxid(): Zxid {
    return makeZxid(EPOCH, this.counter + 1);
  }

  /** The time stamped into the transaction with `zxid`. */
  static timeOf(zxid: Zxid): number {
    return TIME_START_MS + (zxid % 0x1_0000_0000) * TIME_STEP_MS;
  }

  get pending(): number {
    return this.queue.length;
  }

  submit(request: WriteRequest, opts: SubmitOptions = {}): Submitted {
    const zxid = this.nextZxid;
    const prep = prepRequest(
      { view: this.view, zxid, time: Harness.timeOf(zxid), sessionId: opts.sessionId ?? SESSION, cxid: ++this.cxid, dataBytesMax: this.dataBytesMax },
      request,
    );
    if (prep.kind === "error") return { prep, zxid: undefined, applied: undefined };
    this.counter++;
    return { prep, zxid, applied: this.enqueue(prep.txn, opts.defer ?? false) };
  }

  /** Prepares a closeSession for `sessionId`, listing its ephemerals as the view has them. */
  closeSession(sessionId: SessionId, opts: { defer?: boolean } = {}): { txn: Txn; applied: TreeOutcome | undefined } {
    const zxid = this.nextZxid;
    this.counter++;
    const txn = prepCloseSession(this.view, zxid, Harness.timeOf(zxid), sessionId, ++this.cxid);
    return { txn, applied: this.enqueue(txn, opts.defer ?? false) };
  }

  createSession(timeoutMs: number, password: Uint8Array = bytes("secret"), opts: { defer?: boolean } = {}): { txn: Txn; applied: TreeOutcome | undefined } {
    const zxid = this.nextZxid;
    this.counter++;
    const txn = prepCreateSession(zxid, Harness.timeOf(zxid), timeoutMs, password);
    return { txn, applied: this.enqueue(txn, opts.defer ?? false) };
  }

  /** Applies every queued transaction in zxid order and returns their outcomes. */
  applyAll(): TreeOutcome[] {
    const out: TreeOutcome[] = [];
    while (this.queue.length > 0) out.push(this.applyOne(this.queue.shift()!));
    return out;
  }

  private enqueue(txn: Txn, defer: boolean): TreeOutcome | undefined {
    if (defer) {
      this.queue.push(txn);
      return undefined;
    }
    if (this.queue.length > 0) this.applyAll();
    return this.applyOne(txn);
  }

  private applyOne(txn: Txn): TreeOutcome {
    const outcome = this.state.apply(txn);
    this.view.applied(txn.hdr.zxid);
    this.log.push(txn);
    return outcome;
  }

  // Request builders, so tests read like the operations they perform.
  create(path: string, data = "", mode: CreateMode = CreateMode.PERSISTENT, opts: SubmitOptions = {}): Submitted {
    return this.submit(createReq(path, data, mode), opts);
  }
  delete(path: string, version = -1, opts: SubmitOptions = {}): Submitted {
    return this.submit({ type: "delete", path, version }, opts);
  }
  setData(path: string, data: string, version = -1, opts: SubmitOptions = {}): Submitted {
    return this.submit({ type: "setData", path, data: bytes(data), version }, opts);
  }
}

export function createReq(path: string, data = "", mode: CreateMode = CreateMode.PERSISTENT, aclList: Acl[] = acl()): Extract<Request, { type: "create" }> {
  return { type: "create", path, data: bytes(data), acl: aclList, mode, ttlMs: 0 };
}

/** The error code of a prep outcome: a stateless error, an error transaction, or OK. */
export function codeOf(prep: PrepOutcome): Code {
  if (prep.kind === "error") return prep.err;
  return prep.txn.body.type === "error" ? prep.txn.body.err : 0;
}

/** The path a create transaction named (with its sequential suffix). */
export function createdPath(s: Submitted): string {
  if (s.prep.kind !== "txn" || s.prep.txn.body.type !== "create") throw new Error(`not a create transaction: ${JSON.stringify(s.prep)}`);
  return s.prep.txn.body.path;
}

/** Every node of a tree as plain values, for before/after comparisons. */
export function dumpTree(tree: DataTree): Map<string, { data: string; stat: Stat; children: string[] }> {
  const out = new Map<string, { data: string; stat: Stat; children: string[] }>();
  for (const path of [...tree.paths()].sort()) {
    const n = tree.node(path)!;
    out.set(path, { data: text(n.data), stat: { ...n.stat }, children: tree.children(path)! });
  }
  return out;
}
