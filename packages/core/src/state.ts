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

  apply(txn: Txn): TreeOutcome {
    const outcome = this.tree.apply(txn);
    const b = txn.body;
    if (b.type === "createSession") this.sessions.add({ id: txn.hdr.sessionId, timeoutMs: b.timeoutMs, password: b.password });
    else if (b.type === "closeSession") this.sessions.remove(txn.hdr.sessionId);
    return outcome;
  }
}
