// Turning API arguments into protocol requests (client paths), checking them, and moving
// paths in and out of the chroot. Pure functions: no sockets, no state.

import { Code, CreateMode, isSequential, KeeperError, limits, OPEN_ACL_UNSAFE, validatePath, withChroot, withoutChroot, type Acl, type MultiOp, type Request, type Result } from "@keeper/protocol";

export type CreateModeName = "persistent" | "ephemeral" | "persistent_sequential" | "ephemeral_sequential" | "container";

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface CreateOptions extends CallOptions {
  mode?: CreateMode | CreateModeName;
  ephemeral?: boolean;
  sequential?: boolean;
  acl?: Acl[];
  ttlMs?: number;
}

const modeByName: Record<CreateModeName, CreateMode> = {
  persistent: CreateMode.PERSISTENT,
  ephemeral: CreateMode.EPHEMERAL,
  persistent_sequential: CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeral_sequential: CreateMode.EPHEMERAL_SEQUENTIAL,
  container: CreateMode.CONTAINER,
};

const encoder = new TextEncoder();

export function toBytes(data: Uint8Array | string | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw new KeeperError(Code.BADARGUMENTS, "data must be a Uint8Array or a string");
}

/** The create mode named by `mode`, or by the ephemeral/sequential flags, with a TTL folded in. */
export function resolveCreateMode(opts: CreateOptions = {}): CreateMode {
  let mode: CreateMode;
  if (opts.mode === undefined) {
    const index = (opts.ephemeral === true ? 1 : 0) + (opts.sequential === true ? 2 : 0);
    mode = index as CreateMode; // PERSISTENT, EPHEMERAL, PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL are 0..3.
  } else {
    mode = typeof opts.mode === "string" ? modeByName[opts.mode] : opts.mode;
    if (mode === undefined || !Object.values(CreateMode).includes(mode)) throw new KeeperError(Code.BADARGUMENTS, `unknown create mode ${String(opts.mode)}`);
    const ephemeral = mode === CreateMode.EPHEMERAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL;
    if (opts.ephemeral !== undefined && opts.ephemeral !== ephemeral) throw new KeeperError(Code.BADARGUMENTS, "mode and ephemeral flag disagree");
    if (opts.sequential !== undefined && opts.sequential !== isSequential(mode)) throw new KeeperError(Code.BADARGUMENTS, "mode and sequential flag disagree");
  }
  return withTtl(mode, opts.ttlMs ?? 0);
}

function withTtl(mode: CreateMode, ttlMs: number): CreateMode {
  const ttlMode = mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new KeeperError(Code.BADARGUMENTS, `bad ttlMs ${ttlMs}`);
  if (ttlMs === 0) {
    if (ttlMode) throw new KeeperError(Code.BADARGUMENTS, "a TTL create mode needs ttlMs > 0");
    return mode;
  }
  if (ttlMode) return mode;
  if (mode === CreateMode.PERSISTENT) return CreateMode.PERSISTENT_WITH_TTL;
  if (mode === CreateMode.PERSISTENT_SEQUENTIAL) return CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
  throw new KeeperError(Code.BADARGUMENTS, "ttlMs applies only to persistent nodes");
}

export function createRequest(path: string, data: Uint8Array | string | undefined, opts: CreateOptions = {}): Extract<Request, { type: "create" }> {
  const acl = opts.acl ?? OPEN_ACL_UNSAFE;
  if (acl.length === 0) throw new KeeperError(Code.INVALIDACL, "ACL list is empty", path);
  return { type: "create", path, data: toBytes(data), acl: acl.map((a) => ({ ...a })), mode: resolveCreateMode(opts), ttlMs: opts.ttlMs ?? 0 };
}

export function checkVersion(version: number): number {
  if (!Number.isInteger(version) || version < -1 || version > 0x7fff_ffff) throw new KeeperError(Code.BADARGUMENTS, `bad version ${version}`);
  return version;
}

/** Checks every path a request carries, with ZooKeeper's rules; throws BADARGUMENTS. */
export function validateRequest(req: Request): void {
  switch (req.type) {
    case "create":
      validatePath(req.path, isSequential(req.mode));
      return;
    case "multi":
      if (req.ops.length > limits.multiOpsMax) throw new KeeperError(Code.BADARGUMENTS, `multi has ${req.ops.length} ops, max ${limits.multiOpsMax}`);
      for (const op of req.ops) validateRequest(op);
      return;
    case "setWatches":
    case "ping":
    case "closeSession":
    case "whoAmI":
    case "auth":
      return;
    case "getEphemerals":
      if (req.prefix !== "/") validatePath(req.prefix);
      return;
    case "multiRead":
      for (const op of req.ops) validatePath(op.path);
      return;
    default:
      validatePath(req.path);
  }
}

/** The request as the server must see it: every path under the chroot. */
export function toServerRequest(req: Request, chroot: string): Request {
  if (chroot === "") return req;
  switch (req.type) {
    case "multi":
      return { ...req, ops: req.ops.map((op) => toServerRequest(op, chroot) as MultiOp) };
    case "setWatches": {
      const up = (paths: string[]): string[] => paths.map((p) => withChroot(chroot, p));
      return {
        ...req,
        dataWatches: up(req.dataWatches),
        existWatches: up(req.existWatches),
        childWatches: up(req.childWatches),
        ...(req.persistentWatches ? { persistentWatches: up(req.persistentWatches) } : {}),
        ...(req.persistentRecursiveWatches ? { persistentRecursiveWatches: up(req.persistentRecursiveWatches) } : {}),
      };
    }
    case "getEphemerals":
      return { ...req, prefix: withChroot(chroot, req.prefix) };
    case "multiRead":
      return { ...req, ops: req.ops.map((op) => ({ ...op, path: withChroot(chroot, op.path) })) };
    case "ping":
    case "closeSession":
    case "whoAmI":
    case "auth":
      return req;
    default:
      return { ...req, path: withChroot(chroot, req.path) };
  }
}

/** Strips the chroot from the paths a result carries (created names). */
export function fromServerResult<R extends Result>(res: R, chroot: string): R {
  if (chroot === "") return res;
  if (res.type === "create") return { ...res, path: withoutChroot(chroot, res.path) };
  if (res.type === "multi") return { ...res, results: res.results.map((r) => (r.type === "create" ? fromServerResult(r, chroot) : r)) };
  return res;
}
