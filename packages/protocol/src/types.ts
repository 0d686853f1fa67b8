import type { Code } from "./codes.ts";
import type { SessionId, Zxid } from "./zxid.ts";

/** A znode's metadata, field for field ZooKeeper's Stat. Times are milliseconds since the epoch. */
export interface Stat {
  czxid: Zxid;
  mzxid: Zxid;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  /** A session id for an ephemeral, 0 for a persistent node, negative for containers and TTL nodes (see ownerKind). */
  ephemeralOwner: number;
  dataLength: number;
  numChildren: number;
  pzxid: Zxid;
}

/** Permission bits (ZooDefs.Perms). */
export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

/**
 * An ACL entry as a create or setACL carries it. ZooKeeper clients may send a null scheme or id
 * (jute nulls; kazoo sends every empty string as null): the leader judges them as ZooKeeper's
 * fixupACL does, and what it stores is always an Acl.
 */
export interface RequestAcl {
  perms: number;
  scheme: string | null;
  id: string | null;
}

/** Who a client is, for ACL checks: its address (scheme "ip") and what auth packets added. */
export interface Identity {
  scheme: string;
  id: string;
}

/** world:anyone with every permission, ZooKeeper's OPEN_ACL_UNSAFE. */
export const OPEN_ACL_UNSAFE: readonly Acl[] = Object.freeze([{ perms: Perms.ALL, scheme: "world", id: "anyone" }]);
/** world:anyone may read, nothing else: ZooKeeper's READ_ACL_UNSAFE. */
export const READ_ACL_UNSAFE: readonly Acl[] = Object.freeze([{ perms: Perms.READ, scheme: "world", id: "anyone" }]);

/** Create modes with ZooKeeper's numbers (CreateMode.toFlag). */
export const CreateMode = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;
export type CreateMode = (typeof CreateMode)[keyof typeof CreateMode];

/** Keeper's ephemeralOwner code for a container (ZooKeeper's wire shows Long.MIN_VALUE). */
export const CONTAINER_OWNER = -1;
/** Longest TTL ZooKeeper can encode: 40 bits of milliseconds. */
export const TTL_MS_MAX = 2 ** 40 - 1;

/** Keeper's ephemeralOwner code for a TTL node (ZooKeeper's wire shows 0xFF00000000000000 | ttl). */
export function ttlOwner(ttlMs: number): number {
  return -(ttlMs + 1);
}

export type OwnerKind = { kind: "persistent" } | { kind: "ephemeral"; session: SessionId } | { kind: "container" } | { kind: "ttl"; ttlMs: number };

export function ownerKind(owner: number): OwnerKind {
  if (owner > 0) return { kind: "ephemeral", session: owner as SessionId };
  if (owner === 0) return { kind: "persistent" };
  if (owner === CONTAINER_OWNER) return { kind: "container" };
  return { kind: "ttl", ttlMs: -owner - 1 };
}

/** The owner as ZooKeeper puts it on the wire: a signed 64-bit long (EphemeralType's encoding). */
export function zkEphemeralOwner(owner: number): bigint {
  const k = ownerKind(owner);
  if (k.kind === "container") return -(2n ** 63n);
  if (k.kind === "ttl") return BigInt.asIntN(64, 0xff00000000000000n | BigInt(k.ttlMs));
  return BigInt(owner);
}

/** The inverse of zkEphemeralOwner. */
export function ownerFromZk(owner: bigint): number {
  if (owner === -(2n ** 63n)) return CONTAINER_OWNER;
  const u = BigInt.asUintN(64, owner);
  if (owner < 0n && u >> 56n === 0xffn) return ttlOwner(Number(u & 0xffffffffffn));
  return Number(owner);
}

/** "0x..." as ZooKeeper prints an ephemeralOwner. */
export function formatOwner(owner: number): string {
  return "0x" + BigInt.asUintN(64, zkEphemeralOwner(owner)).toString(16);
}

export function isTtlMode(mode: CreateMode): boolean {
  return mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

export function isSequential(mode: CreateMode): boolean {
  return mode === CreateMode.PERSISTENT_SEQUENTIAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

export function isEphemeral(mode: CreateMode): boolean {
  return mode === CreateMode.EPHEMERAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL;
}

/** A client request, as every listener (native or ZooKeeper wire) hands it to the server. */
export type Request =
  /** nullData: ZooKeeper's null data (a Java client's `null`), distinct from zero bytes; `data` is then empty. */
  | { type: "create"; path: string; data: Uint8Array; acl: RequestAcl[]; mode: CreateMode; ttlMs: number; nullData?: boolean }
  | { type: "delete"; path: string; version: number }
  | { type: "exists"; path: string; watch: boolean }
  | { type: "getData"; path: string; watch: boolean }
  | { type: "setData"; path: string; data: Uint8Array; version: number; nullData?: boolean }
  | { type: "getChildren"; path: string; watch: boolean }
  | { type: "check"; path: string; version: number }
  | { type: "multi"; ops: MultiOp[] }
  | { type: "sync"; path: string }
  | { type: "getACL"; path: string }
  | { type: "setACL"; path: string; acl: RequestAcl[]; version: number }
  | { type: "setWatches"; relativeZxid: Zxid; dataWatches: string[]; existWatches: string[]; childWatches: string[]; persistentWatches?: string[]; persistentRecursiveWatches?: string[] }
  | { type: "ping" }
  | { type: "closeSession" }
  | { type: "getAllChildrenNumber"; path: string }
  | { type: "getEphemerals"; prefix: string }
  /** A watch that stays armed after it fires; recursive ones see the whole subtree. */
  | { type: "addWatch"; path: string; mode: AddWatchMode }
  /** Removes (or with checkOnly, only checks for) this session's watches of a kind on a path. */
  | { type: "removeWatches"; path: string; watcherType: WatcherType; checkOnly: boolean }
  | { type: "multiRead"; ops: ReadOp[] }
  | { type: "whoAmI" }
  | { type: "auth"; scheme: string; auth: Uint8Array }
  /**
   * Keeper's own, with no ZooKeeper opcode: raises the counter that numbers `path`'s sequential
   * children (ZooKeeper's parent cversion) so the next one is numbered at least `next`; never
   * lowers it, so no sequential name is ever handed out twice. Needs ADMIN on `path`. It lets
   * `keeper import` and `keeper copy` carry a tree's counters over from another server.
   */
  | { type: "setSequence"; path: string; next: number };
export type RequestType = Request["type"];
export type ReadOp = { type: "getData" | "getChildren"; path: string };

/** AddWatchMode: PERSISTENT 0, PERSISTENT_RECURSIVE 1. */
export const AddWatchMode = { PERSISTENT: 0, PERSISTENT_RECURSIVE: 1 } as const;
export type AddWatchMode = (typeof AddWatchMode)[keyof typeof AddWatchMode];
/** Watcher.WatcherType, with ZooKeeper's numbers. */
export const WatcherType = { Children: 1, Data: 2, Any: 3, Persistent: 4, PersistentRecursive: 5 } as const;
export type WatcherType = (typeof WatcherType)[keyof typeof WatcherType];
export type MultiOp = Extract<Request, { type: "create" | "delete" | "setData" | "check" }>;

/** The requests that change state and so go through the log. */
export const WRITE_TYPES: ReadonlySet<RequestType> = new Set(["create", "delete", "setData", "check", "multi", "sync", "setACL", "closeSession", "setSequence"]);

export type Result =
  | { type: "create"; path: string; stat: Stat }
  | { type: "delete" }
  | { type: "exists"; stat: Stat }
  | { type: "getData"; data: Uint8Array; stat: Stat; nullData?: boolean }
  | { type: "setData"; stat: Stat }
  | { type: "getChildren"; children: string[]; stat: Stat }
  | { type: "check" }
  | { type: "multi"; results: MultiOpResult[] }
  | { type: "sync"; path: string }
  | { type: "getACL"; acl: Acl[]; stat: Stat }
  | { type: "setACL"; stat: Stat }
  | { type: "setSequence"; stat: Stat }
  | { type: "setWatches" }
  | { type: "ping" }
  | { type: "closeSession" }
  | { type: "getAllChildrenNumber"; count: number }
  | { type: "getEphemerals"; paths: string[] }
  | { type: "addWatch" }
  | { type: "removeWatches" }
  | { type: "multiRead"; results: ReadOpResult[] }
  | { type: "whoAmI"; clientInfo: ClientInfo[] }
  | { type: "auth" };

export type ReadOpResult = { type: "getData"; data: Uint8Array; stat: Stat; nullData?: boolean } | { type: "getChildren"; children: string[] } | { type: "error"; err: Code };
export interface ClientInfo {
  authScheme: string;
  user: string;
}

/** One entry of a multi's results: the op's result, or its error (OK for ops rolled back). */
export type MultiOpResult = Extract<Result, { type: "create" | "delete" | "setData" | "check" }> | { type: "error"; err: Code };

export interface WatchEventMessage {
  type: number; // EventType
  state: number; // KeeperState
  path: string;
  zxid: Zxid;
}
