// Transactions are idempotent outcomes, not requests: the leader's prep step turns
// "create /a/b- sequential" into "create /a/b-0000000007", checks versions, stamps zxid and
// time, and the log carries that outcome (an error outcome too) to every replica.
import type { Acl, Code, SessionId, Zxid } from "@keeper/protocol";

export interface TxnHeader {
  zxid: Zxid;
  /** The leader's wall-clock time when it prepared the transaction (ms since the epoch). */
  time: number;
  /** The session that asked for it (0 for the system). */
  sessionId: SessionId;
  /** The client's request id, so the node holding the connection can match the reply. */
  cxid: number;
}

export type TreeTxn =
  /** ephemeralOwner: a session for an ephemeral, 0, or a container / TTL code (protocol's ownerKind). */
  | { type: "create"; path: string; data: Uint8Array; acl: Acl[]; ephemeralOwner: number; nullData?: boolean }
  | { type: "delete"; path: string }
  | { type: "setData"; path: string; data: Uint8Array; version: number; nullData?: boolean }
  | { type: "setACL"; path: string; acl: Acl[]; aversion: number }
  | { type: "check"; path: string };

export type TxnBody =
  | TreeTxn
  | { type: "multi"; ops: TreeTxn[] }
  /** A request that failed its checks: replicas change nothing; `multiErrs` holds a failed multi's per-op codes. */
  | { type: "error"; err: Code; multiErrs?: Code[] }
  | { type: "createSession"; timeoutMs: number; password: Uint8Array }
  /** Ends a session; `ephemerals` are the paths it owned when prepared, deleted in this order. */
  | { type: "closeSession"; ephemerals: string[] }
  /** Occupies a zxid so that a client's sync is answered only once the node has applied up to it. */
  | { type: "sync"; path: string }
  /**
   * Sets `path`'s sequential-child counter (its internal cversion) to `cversion`, which prep
   * made no lower than before. Not a TreeTxn: it has no place in a multi.
   */
  | { type: "setSequence"; path: string; cversion: number };

/** Never changed once proposed: its encoded record is cached (txn-codec.ts). */
export interface Txn {
  hdr: TxnHeader;
  body: TxnBody;
}
