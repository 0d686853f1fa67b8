// The tree as it will be once every transaction prepared so far is applied. Prep checks
// requests against this view, not the applied tree, so a batch of writes in flight can be
// prepared back to back (ZooKeeper's outstanding changes). Only changed nodes are copied.
import type { Acl, SessionId, Stat, Zxid } from "@keeper/protocol";
import type { DataTree } from "../tree/data-tree.ts";

export interface NodeRecord {
  stat: Stat;
  acl: readonly Acl[];
}

interface Entry {
  zxid: Zxid;
  record: NodeRecord | null; // null: deleted in the view
}

export class PendingView {
  private readonly overlay = new Map<string, Entry>();
  /** Paths in the order their entries were written, with the zxid that wrote them. */
  private readonly log: Array<{ zxid: Zxid; path: string }> = [];

  constructor(private readonly tree: DataTree) {}

  get(path: string): NodeRecord | undefined {
    const e = this.overlay.get(path);
    if (e) return e.record ?? undefined;
    const n = this.tree.node(path);
    return n && { stat: { ...n.stat }, acl: n.acl };
  }

  put(path: string, record: NodeRecord | null, zxid: Zxid): void {
    this.undo?.push({ path, prev: this.overlay.get(path) });
    this.overlay.set(path, { zxid, record });
    this.log.push({ zxid, path });
  }

  /** The ephemerals `session` owns in the view. */
  ephemerals(session: SessionId): string[] {
    const paths = new Set(this.tree.ephemerals(session));
    for (const [path, e] of this.overlay) if (e.record?.stat.ephemeralOwner === session) paths.add(path);
    return [...paths].filter((p) => this.get(p)?.stat.ephemeralOwner === session).sort();
  }

  private undo: Array<{ path: string; prev: Entry | undefined }> | undefined;
  private logMark = 0;
  /** Entries of `log` before this index are applied (see applied()). */
  private logHead = 0;

  /** Starts recording puts so that a multi failing half way can take them back. */
  begin(): void {
    this.undo = [];
    this.logMark = this.log.length;
  }

  /** Keeps what was put since begin(). */
  commit(): void {
    this.undo = undefined;
  }

  /** Takes back every put since begin(). */
  rollback(): void {
    const undo = this.undo ?? [];
    for (let i = undo.length - 1; i >= 0; i--) {
      const { path, prev } = undo[i]!;
      if (prev) this.overlay.set(path, prev);
      else this.overlay.delete(path);
    }
    this.log.length = this.logMark;
    this.undo = undefined;
  }

  /**
   * The tree has applied up to `zxid`: forget entries that no later pending transaction wrote.
   * Called per applied transaction, so the log's front is cut in steps (logHead), not spliced
   * each time (a move of every write in flight, per write).
   */
  applied(zxid: Zxid): void {
    let i = this.logHead;
    while (i < this.log.length && this.log[i]!.zxid <= zxid) {
      const { path } = this.log[i]!;
      const e = this.overlay.get(path);
      if (e && e.zxid <= zxid) this.overlay.delete(path);
      i++;
    }
    this.logHead = i;
    if (i === this.log.length) {
      this.log.length = 0;
      this.logHead = 0;
    } else if (i >= 1024 && i * 2 >= this.log.length) {
      this.log.splice(0, i);
      this.logHead = 0;
    }
  }

  /** Drops every pending change, e.g. when proposals in flight are abandoned. */
  clear(): void {
    this.overlay.clear();
    this.log.length = 0;
    this.logHead = 0;
  }

  get pendingPaths(): number {
    return this.overlay.size;
  }
}
