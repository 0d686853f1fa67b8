// The operations of the differential test: a small readable language, a seeded generator over a
// small path alphabet (so collisions, NODEEXISTS, NOTEMPTY and version races happen all the
// time), one-line formatting for failure reports, and the translation to jute requests.
//
// Paths are relative to the run's root (every run lives under a fresh /r<N>): "/" is that root,
// "/a/x" is /r<N>/a/x. "@k" names the k-th path (modulo how many there are) that a create of this
// run returned and that is not in the fixed alphabet (sequential nodes), resolved while running.
import type { ZkMultiOp, ZkMultiReadOp, ZkRequest } from "@keeper/protocol";

/** CreateMode flags (CreateMode.toFlag). */
export const Mode = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;
const modeNames = new Map<number, string>(Object.entries(Mode).map(([k, v]) => [v, k]));
export const modeName = (flags: number): string => modeNames.get(flags) ?? `flags=${flags}`;

/** Named ACL lists (names keep the printed sequences short). */
export const ACLS = {
  open: [{ perms: 31, scheme: "world", id: "anyone" }],
  read: [{ perms: 1, scheme: "world", id: "anyone" }],
  nodelete: [{ perms: 31 & ~8, scheme: "world", id: "anyone" }],
  nocreate: [{ perms: 31 & ~4, scheme: "world", id: "anyone" }],
  none: [{ perms: 0, scheme: "world", id: "anyone" }],
  ip: [{ perms: 31, scheme: "ip", id: "127.0.0.1" }],
  digest: [{ perms: 31, scheme: "digest", id: "bob:Ot2V3cT0zsqGYzQXqSkI5dgvnRw=" }],
  auth: [{ perms: 31, scheme: "auth", id: "" }],
  empty: [],
} as const satisfies Record<string, ReadonlyArray<{ perms: number; scheme: string; id: string }>>;
export type AclName = keyof typeof ACLS;

export type CreateOpcode = "create" | "create2" | "createContainer" | "createTTL";

export interface CreateSpec {
  op: CreateOpcode;
  path: string;
  /** null: a jute null buffer. */
  data: string | null;
  flags: number;
  acl?: AclName;
  /** createTTL only. */
  ttl?: number;
}

export type SubOp =
  | CreateSpec
  | { op: "delete"; path: string; version: number }
  | { op: "setData"; path: string; data: string | null; version: number }
  | { op: "check"; path: string; version: number };

export type DiffOp = { s: number } & (
  | CreateSpec
  | { op: "delete"; path: string; version: number }
  | { op: "setData"; path: string; data: string | null; version: number }
  | { op: "check"; path: string; version: number }
  | { op: "exists" | "getData" | "getChildren" | "getChildren2"; path: string; watch: boolean }
  | { op: "sync" | "getACL" | "getAllChildrenNumber" | "getEphemerals"; path: string }
  | { op: "setACL"; path: string; acl: AclName; version: number }
  | { op: "multi"; ops: SubOp[] }
  | { op: "multiRead"; ops: Array<{ op: "getData" | "getChildren"; path: string }> }
  /** closeSession on session slot `s`, then a new session in that slot. */
  | { op: "reconnect" }
);

export const SESSIONS = 2;

// ------------------------------------------------------------------------------- formatting

const q = (d: string | null): string => (d === null ? "null" : JSON.stringify(d));

function formatSub(o: SubOp | CreateSpec): string {
  switch (o.op) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL":
      return `${o.op} ${o.path} ${q(o.data)} ${modeName(o.flags)}${o.acl && o.acl !== "open" ? ` acl=${o.acl}` : ""}${o.ttl !== undefined ? ` ttl=${o.ttl}` : ""}`;
    case "delete":
    case "check":
      return `${o.op} ${o.path} v=${o.version}`;
    case "setData":
      return `setData ${o.path} ${q(o.data)} v=${o.version}`;
  }
}

/** One readable line, e.g. `s1 create2 /a/x "v1" EPHEMERAL`. */
export function formatOp(o: DiffOp): string {
  const s = `s${o.s} `;
  switch (o.op) {
    case "exists":
    case "getData":
    case "getChildren":
    case "getChildren2":
      return `${s}${o.op} ${o.path}${o.watch ? " watch" : ""}`;
    case "sync":
    case "getACL":
    case "getAllChildrenNumber":
    case "getEphemerals":
      return `${s}${o.op} ${o.path}`;
    case "setACL":
      return `${s}setACL ${o.path} ${o.acl} v=${o.version}`;
    case "multi":
      return `${s}multi [${o.ops.map(formatSub).join("; ")}]`;
    case "multiRead":
      return `${s}multiRead [${o.ops.map((r) => `${r.op} ${r.path}`).join("; ")}]`;
    case "reconnect":
      return `${s}reconnect (closeSession, then a new session)`;
    default:
      return s + formatSub(o);
  }
}

// ------------------------------------------------------------------------------- generation

/** mulberry32: small, fast, good enough, and the same everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
function weighted<T>(r: Rand, table: ReadonlyArray<readonly [number, T]>): T {
  const total = table.reduce((n, [w]) => n + w, 0);
  let x = r() * total;
  for (const [w, v] of table) {
    if ((x -= w) < 0) return v;
  }
  return table[table.length - 1]![1];
}

/** The fixed alphabet: few names, so operations collide. "/" is the run's root. */
export const PATHS = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/c"] as const;
const DATA: ReadonlyArray<string | null> = ["", "v1", "v2", "hello", null, "x".repeat(100)];

/**
 * Kinds of op the generator can leave out, each because of one known divergence (see the list
 * in ../differential.test.ts; every one is pinned by its own it.fails test there).
 */
export interface GenOptions {
  /** Creates and setData never carry a null buffer (only "" for empty data). */
  noNullData?: boolean;
  /** Multis never use the create2 opcode for a sub-op (the Java client sends create there). */
  noCreate2InMulti?: boolean;
  /** Only ACLs that grant this test's clients every permission (open, ip:127.0.0.1) or are invalid. */
  onlyPermissiveAcls?: boolean;
  /** A trailing "/" only with sequential modes (where it is legal). */
  trailingSlashOnlySequential?: boolean;
}

/** A version no node of a run reaches (runs are far shorter than this many writes). */
export const UNREACHABLE_VERSION = 99_999;

export function generate(seed: number, count: number, opts: GenOptions = {}): DiffOp[] {
  const r = rng(seed);
  const anyPath = (): string =>
    weighted(r, [
      [14, pick(r, PATHS)],
      [3, `@${Math.floor(r() * 8)}`],
      [1, "/"],
    ] as const);
  const writePath = (): string => weighted(r, [[14, pick(r, PATHS)], [3, `@${Math.floor(r() * 8)}`]] as const);
  const data = (): string | null => {
    const d = pick(r, DATA);
    return d === null && opts.noNullData ? "" : d;
  };
  const version = (): number => (r() < 0.4 ? -1 : Math.floor(r() * 4));
  const acl = (): AclName =>
    opts.onlyPermissiveAcls
      ? weighted<AclName>(r, [[30, "open"], [2, "ip"], [1, "empty"], [1, "auth"]])
      : weighted<AclName>(r, [[30, "open"], [1, "read"], [1, "nodelete"], [1, "nocreate"], [1, "ip"], [1, "empty"], [1, "auth"], [1, "digest"], [1, "none"]]);
  /** `inMulti`: no odd opcode/mode pairs (ZooKeeper fails those with MARSHALLINGERROR, see the test). */
  const create = (inMulti = false): CreateSpec => {
    const kind = weighted(r, [
      [10, "plain"],
      [3, "container"],
      [3, "ttl"],
      [inMulti ? 0 : 1, "odd"],
    ] as const);
    const path = r() < 0.05 ? `${pick(r, ["/a", "/b"])}/` : writePath();
    const c: CreateSpec = { op: "create", path, data: data(), flags: 0 };
    if (kind === "plain") {
      c.op = r() < 0.5 || (inMulti && opts.noCreate2InMulti) ? "create" : "create2";
      c.flags = weighted(r, [[4, Mode.PERSISTENT], [3, Mode.EPHEMERAL], [2, Mode.PERSISTENT_SEQUENTIAL], [2, Mode.EPHEMERAL_SEQUENTIAL]]);
    } else if (kind === "container") {
      c.op = "createContainer";
      c.flags = Mode.CONTAINER;
    } else if (kind === "ttl") {
      c.op = "createTTL";
      c.flags = r() < 0.6 ? Mode.PERSISTENT_WITH_TTL : Mode.PERSISTENT_SEQUENTIAL_WITH_TTL;
      // Long TTLs: expiry is timer driven and out of this test's reach; 0 and too-long ones are rejected.
      c.ttl = weighted(r, [[8, 3_600_000], [1, 0], [1, 2 ** 40]]);
    } else {
      // What a careless client could send: a TTL mode without createTTL, createTTL without a TTL mode.
      const odd = weighted(r, [[1, "ttl-mode-plain-create"], [1, "ttl-op-plain-mode"]] as const);
      if (odd === "ttl-mode-plain-create") {
        c.op = "create2";
        c.flags = Mode.PERSISTENT_WITH_TTL;
      } else {
        c.op = "createTTL";
        c.flags = Mode.PERSISTENT;
        c.ttl = 3_600_000;
      }
    }
    if (r() < 0.08) c.acl = acl();
    const sequential = c.flags === Mode.PERSISTENT_SEQUENTIAL || c.flags === Mode.EPHEMERAL_SEQUENTIAL || c.flags === Mode.PERSISTENT_SEQUENTIAL_WITH_TTL;
    if (opts.trailingSlashOnlySequential && !sequential && c.path.endsWith("/")) c.path = c.path.slice(0, -1);
    return c;
  };
  const sub = (): SubOp =>
    weighted<() => SubOp>(r, [
      [5, () => create(true)],
      [3, () => ({ op: "delete", path: writePath(), version: version() })],
      [3, () => ({ op: "setData", path: writePath(), data: data(), version: version() })],
      [2, () => ({ op: "check", path: writePath(), version: version() })],
    ])();

  const ops: DiffOp[] = [];
  for (let i = 0; i < count; i++) {
    const s = r() < 0.65 ? 0 : 1;
    const op = weighted<() => DiffOp>(r, [
      [20, () => ({ s, ...create() })],
      [8, () => ({ s, op: "delete", path: writePath(), version: version() })],
      [9, () => ({ s, op: "setData", path: anyPath(), data: data(), version: version() })],
      [5, () => ({ s, op: "exists", path: anyPath(), watch: r() < 0.5 })],
      [5, () => ({ s, op: "getData", path: anyPath(), watch: r() < 0.5 })],
      [4, () => ({ s, op: "getChildren", path: anyPath(), watch: r() < 0.5 })],
      [4, () => ({ s, op: "getChildren2", path: anyPath(), watch: r() < 0.5 })],
      // Top-level check only with a version no node reaches here: ZooKeeper 3.8 never answers a
      // top-level check that succeeds (KNOWN DIFFERENCES in ../differential.test.ts); its errors it answers.
      [3, () => ({ s, op: "check", path: anyPath(), version: UNREACHABLE_VERSION })],
      [8, () => ({ s, op: "multi", ops: Array.from({ length: 1 + Math.floor(r() * 4) }, sub) })],
      [2, () => ({ s, op: "multiRead", ops: Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({ op: r() < 0.5 ? ("getData" as const) : ("getChildren" as const), path: anyPath() })) })],
      [1, () => ({ s, op: "sync", path: anyPath() })],
      [2, () => ({ s, op: "getACL", path: anyPath() })],
      [2, () => ({ s, op: "setACL", path: writePath(), acl: acl(), version: version() })],
      [2, () => ({ s, op: "getAllChildrenNumber", path: anyPath() })],
      [2, () => ({ s, op: "getEphemerals", path: r() < 0.5 ? "/" : pick(r, ["/a", "/b"]) })],
      [1, () => ({ s, op: "reconnect" })],
    ])();
    ops.push(op);
  }
  return ops;
}

// ------------------------------------------------------------------------------- to the wire

const enc = new TextEncoder();
const bytes = (d: string | null): Uint8Array | null => (d === null ? null : enc.encode(d));

/** Resolves relative paths (and @k references) to absolute ones under `root`. */
export type Resolve = (rel: string) => string;

function createRequest(c: CreateSpec, abs: Resolve): Extract<ZkRequest, { type: CreateOpcode }> {
  const base = { path: abs(c.path), data: bytes(c.data), acl: [...ACLS[c.acl ?? "open"]], flags: c.flags };
  return c.op === "createTTL" ? { type: "createTTL", ...base, ttl: BigInt(c.ttl ?? 0) } : { type: c.op, ...base };
}

function subRequest(o: SubOp, abs: Resolve): ZkMultiOp {
  switch (o.op) {
    case "delete":
    case "check":
      return { type: o.op, path: abs(o.path), version: o.version };
    case "setData":
      return { type: "setData", path: abs(o.path), data: bytes(o.data), version: o.version };
    default:
      return createRequest(o, abs);
  }
}

/** The jute request for `o` (not for "reconnect", which the runner handles itself). */
export function toRequest(o: Exclude<DiffOp, { op: "reconnect" }>, abs: Resolve): ZkRequest {
  switch (o.op) {
    case "delete":
    case "check":
      return { type: o.op, path: abs(o.path), version: o.version };
    case "setData":
      return { type: "setData", path: abs(o.path), data: bytes(o.data), version: o.version };
    case "exists":
    case "getData":
    case "getChildren":
    case "getChildren2":
      return { type: o.op, path: abs(o.path), watch: o.watch };
    case "sync":
    case "getACL":
    case "getAllChildrenNumber":
      return { type: o.op, path: abs(o.path) };
    case "getEphemerals":
      return { type: "getEphemerals", prefixPath: abs(o.path) };
    case "setACL":
      return { type: "setACL", path: abs(o.path), acl: [...ACLS[o.acl]], version: o.version };
    case "multi":
      return { type: "multi", ops: o.ops.map((x) => subRequest(x, abs)) };
    case "multiRead":
      return { type: "multiRead", ops: o.ops.map((x): ZkMultiReadOp => ({ type: x.op, path: abs(x.path), watch: false })) };
    default:
      return createRequest(o, abs);
  }
}

// ------------------------------------------------------------------------------- rewriting

/** `o` with every path (its sub-ops' too) passed through `f`. */
export function mapPaths(o: DiffOp, f: (path: string) => string): DiffOp {
  if (o.op === "reconnect") return o;
  if (o.op === "multi") return { ...o, ops: o.ops.map((x) => ({ ...x, path: f(x.path) })) };
  if (o.op === "multiRead") return { ...o, ops: o.ops.map((x) => ({ ...x, path: f(x.path) })) };
  return { ...o, path: f(o.path) };
}

/** Simpler variants of `o` for shrinking: short data, no watch. */
export function simplerVariants(o: DiffOp): DiffOp[] {
  const out: DiffOp[] = [];
  const shortData = (d: string | null): string | null => (d !== null && d.length > 1 ? "d" : d);
  if ("data" in o && o.data !== null && o.data.length > 1) out.push({ ...o, data: shortData(o.data) } as DiffOp);
  if (o.op === "multi" && o.ops.some((x) => "data" in x && x.data !== null && x.data.length > 1)) {
    out.push({ ...o, ops: o.ops.map((x) => ("data" in x ? { ...x, data: shortData(x.data) } : x)) as SubOp[] });
  }
  if ("watch" in o && o.watch) out.push({ ...o, watch: false } as DiffOp);
  if ("acl" in o && o.acl !== undefined && o.acl !== "open" && o.op !== "setACL") out.push({ ...o, acl: undefined } as DiffOp);
  return out;
}
