// A client's view of its one-shot watches, kept as ZooKeeper's Java client keeps them
// (ZKWatchManager), so that a session moved to another server can re-register them with
// setWatches, as ClientCnxn.primeConnection does after a reconnect:
//  - exists with a watch registers a data watch if the node exists, an exist watch if it does
//    not (NONODE); getData registers a data watch and getChildren/getChildren2 a child watch,
//    each only when the reply is OK;
//  - an event removes what it fired (ZKWatchManager.materialize): NodeCreated and
//    NodeDataChanged the path's data and exist watches, NodeChildrenChanged its child watch,
//    NodeDeleted all three.
// Events and registrations are applied in the order they happened on the connection: before a
// registration, every event that arrived before its reply is applied (catchUp). A watch whose
// event the server withheld (ZooKeeper 3.8 sends a watch event only to a connection that may READ
// the node, and drops the watch either way) stays on the books, as in the Java client, and is
// re-registered by the next setWatches, which may fire it then.
import { Code, type ZkReply, type ZkRequest } from "@keeper/protocol";
import type { ZkRawClient } from "../../support/zk-raw.ts";

const NodeCreated = 1;
const NodeDeleted = 2;
const NodeDataChanged = 3;
const NodeChildrenChanged = 4;

export class ClientWatches {
  private readonly data = new Set<string>();
  private readonly exist = new Set<string>();
  private readonly child = new Set<string>();
  /** How many of the current connection's events were applied. */
  private eventsApplied = 0;

  /** A new connection of the same session: its events start from zero. */
  newConnection(): void {
    this.eventsApplied = 0;
  }

  /** Applies `c`'s events that arrived before it had `replies` replies (all of them by default). */
  catchUp(c: ZkRawClient, replies = Infinity): void {
    while (this.eventsApplied < c.events.length && c.events[this.eventsApplied]!.afterReplies < replies) {
      const e = c.events[this.eventsApplied++]!;
      if (e.type === NodeCreated || e.type === NodeDataChanged || e.type === NodeDeleted) {
        this.data.delete(e.path);
        this.exist.delete(e.path);
      }
      if (e.type === NodeChildrenChanged || e.type === NodeDeleted) this.child.delete(e.path);
    }
  }

  /** Notes the watch `req` registered, given its reply, the last one `c` received. */
  registered(c: ZkRawClient, req: ZkRequest, reply: ZkReply): void {
    if (!("watch" in req) || !req.watch) return;
    this.catchUp(c, c.replies);
    if (req.type === "exists" && reply.err === Code.NONODE) this.exist.add(req.path);
    if (reply.err !== Code.OK) return;
    if (req.type === "exists" || req.type === "getData") this.data.add(req.path);
    else if (req.type === "getChildren" || req.type === "getChildren2") this.child.add(req.path);
  }

  /** The setWatches request that re-registers every outstanding watch, or undefined if none. */
  setWatches(relativeZxid: bigint): Extract<ZkRequest, { type: "setWatches" }> | undefined {
    if (this.data.size + this.exist.size + this.child.size === 0) return undefined;
    return { type: "setWatches", relativeZxid, dataWatches: [...this.data], existWatches: [...this.exist], childWatches: [...this.child] };
  }

  /** One line for traces. */
  toString(): string {
    return `data=[${[...this.data].join(",")}] exist=[${[...this.exist].join(",")}] child=[${[...this.child].join(",")}]`;
  }
}
