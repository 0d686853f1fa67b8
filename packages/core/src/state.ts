// The replicated state machine: the tree plus the session table, changed only by apply().
import { DataTree, type TreeOutcome } from "./tree/data-tree.ts";
import { SessionTable } from "./sessions/session-table.ts";
import type { Txn } from "./txn.ts";

export class ReplicatedState {
  constructor(
    readonly tree: DataTree = new DataTree(),
    readonly sessions: SessionTable = new SessionTable(),
  ) {}

  get lastZxid() {
    return this.tree.lastZxid;
  }

  /**
   * What replicas compare at run time: the tree's digest and the session table's, both kept
   * incrementally (O(1) here). ZooKeeper's digest covers only the tree; sessions are replicated
   * state too (a lost createSession would let a session's ephemerals outlive it on one node), and
   * including them costs one hash per session created or closed.
   */
  digest(): string {
    return `${this.tree.digest()}.${this.sessions.digest()}`;
  }

  apply(txn: Txn): TreeOutcome {
    const outcome = this.tree.apply(txn);
    const b = txn.body;
    if (b.type === "createSession") this.sessions.add({ id: txn.hdr.sessionId, timeoutMs: b.timeoutMs, password: b.password });
    else if (b.type === "closeSession") this.sessions.remove(txn.hdr.sessionId);
    return outcome;
  }
}
