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
  ephemeralOwner: SessionId;
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

/** world:anyone with every permission, ZooKeeper's OPEN_ACL_UNSAFE. */
export const OPEN_ACL_UNSAFE: readonly Acl[] = Object.freeze([{ perms: Perms.ALL, scheme: "world", id: "anyone" }]);

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

export function isSequential(mode: CreateMode): boolean {
  return mode === CreateMode.PERSISTENT_SEQUENTIAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

export function isEphemeral(mode: CreateMode): boolean {
  return mode === CreateMode.EPHEMERAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL;
}

/** A client request, as every listener (native or ZooKeeper wire) hands it to the server. */
export type Request =
  | { type: "create"; path: string; data: Uint8Array; acl: Acl[]; mode: CreateMode; ttlMs: number }
  | { type: "delete"; path: string; version: number }
  | { type: "exists"; path: string; watch: boolean }
  | { type: "getData"; path: string; watch: boolean }
  | { type: "setData"; path: string; data: Uint8Array; version: number }
  | { type: "getChildren"; path: string; watch: boolean }
  | { type: "check"; path: string; version: number }
  | { type: "multi"; ops: MultiOp[] }
  | { type: "sync"; path: string }
  | { type: "getACL"; path: string }
  | { type: "setACL"; path: string; acl: Acl[]; version: number }
  | { type: "setWatches"; relativeZxid: Zxid; dataWatches: string[]; existWatches: string[]; childWatches: string[] }
  | { type: "ping" }
  | { type: "closeSession" };
export type RequestType = Request["type"];
export type MultiOp = Extract<Request, { type: "create" | "delete" | "setData" | "check" }>;

/** The requests that change state and so go through the log. */
export const WRITE_TYPES: ReadonlySet<RequestType> = new Set(["create", "delete", "setData", "check", "multi", "sync", "setACL", "closeSession"]);

export type Result =
  | { type: "create"; path: string; stat: Stat }
  | { type: "delete" }
  | { type: "exists"; stat: Stat }
  | { type: "getData"; data: Uint8Array; stat: Stat }
  | { type: "setData"; stat: Stat }
  | { type: "getChildren"; children: string[]; stat: Stat }
  | { type: "check" }
  | { type: "multi"; results: MultiOpResult[] }
  | { type: "sync"; path: string }
  | { type: "getACL"; acl: Acl[]; stat: Stat }
  | { type: "setACL"; stat: Stat }
  | { type: "setWatches" }
  | { type: "ping" }
  | { type: "closeSession" };

/** One entry of a multi's results: the op's result, or its error (OK for ops rolled back). */
export type MultiOpResult = Extract<Result, { type: "create" | "delete" | "setData" | "check" }> | { type: "error"; err: Code };

export interface WatchEventMessage {
  type: number; // EventType
  state: number; // KeeperState
  path: string;
  zxid: Zxid;
}
