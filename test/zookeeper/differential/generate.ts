// The seeded generator of the differential test's operations (the language is ./ops.ts): a small
// path alphabet so that collisions, NODEEXISTS, NOTEMPTY and version races happen all the time;
// every op names a Keeper member, mostly the one its session was on; now and then a session's
// connection drops for a while, during which the other session changes the fixed paths.
import { ACL_NAMES, NULL_ID_ACLS } from "./acls.ts";
import { INITIAL_AUTH, initialMember, MEMBERS, Mode, PATHS, SESSIONS, type AclName, type CreateSpec, type DiffOp, type SubOp, type User } from "./ops.ts";

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
  /** No ACL list with a null id in a scheme whose provider reads it (B7: Keeper rejects those before ZooKeeper's earlier checks). */
  noNullIdAcls?: boolean;
  /** A session never authenticates as the same user twice (B8: Keeper keeps the repeated identity). */
  noRepeatedAuth?: boolean;
  /** No list with both auth:null and auth:"" (B9: Keeper reads the null as "" and drops a duplicate ZooKeeper keeps). */
  noAuthNullBesideEmpty?: boolean;
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
      : weighted<AclName>(r, [[25, "open"], ...ACL_NAMES.filter((n) => n !== "open" && !(opts.noNullIdAcls && NULL_ID_ACLS.has(n)) && !(opts.noAuthNullBesideEmpty && n === "authNullThenEmpty")).map((n) => [1, n] as const)]);
  const users = (): User[] => {
    const u = weighted<User[]>(r, [[3, []], [3, ["bob"]], [1, ["alice"]], [1, ["bob", "alice"]], [1, ["bob", "bob"]]]);
    return opts.noRepeatedAuth ? [...new Set(u)] : u;
  };
  /** Whom each slot's session is authenticated as (reconnect and addAuth change it). */
  const who: User[][] = INITIAL_AUTH.map((u) => [...u]);
  const addAuth = (s: number): DiffOp => {
    let user: User = r() < 0.6 ? "bob" : "alice";
    if (opts.noRepeatedAuth && who[s]!.includes(user)) user = user === "bob" ? "alice" : "bob";
    if (opts.noRepeatedAuth && who[s]!.includes(user)) return { s, op: "getACL", path: "/" };
    who[s]!.push(user);
    return { s, op: "addAuth", user };
  };
  const reconnect = (s: number): DiffOp => {
    const auth = users();
    who[s] = [...auth];
    return { s, op: "reconnect", auth };
  };
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
    if (r() < 0.25) c.acl = acl();
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
  /** Where each slot's session is: an op goes through the same member most of the time. */
  const at = Array.from({ length: SESSIONS }, (_, k) => initialMember(k, MEMBERS));
  /** Ops the slot still sits out after a disconnect, so that changes happen while it is away. */
  const away = Array.from({ length: SESSIONS }, () => 0);
  for (let i = 0; i < count; i++) {
    let s = r() < 0.65 ? 0 : 1;
    if (away[s]! > 0) s = 1 - s;
    for (let k = 0; k < SESSIONS; k++) if (away[k]! > 0) away[k]!--;
    if (r() < 0.1) at[s] = (at[s]! + 1 + Math.floor(r() * (MEMBERS - 1))) % MEMBERS;
    const m = at[s]!;
    if (away.some((n) => n > 0) && r() < 0.5) {
      // While a session is away, plain changes to the fixed paths, which its watches are mostly
      // on: what its setWatches will have to report when it comes back.
      const path = pick(r, PATHS);
      ops.push({ m, ...weighted<DiffOp>(r, [[3, { s, op: "setData", path, data: data(), version: -1 }], [2, { s, op: "delete", path, version: -1 }], [2, { s, op: "create", path, data: data(), flags: Mode.PERSISTENT }]]) });
      continue;
    }
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
      [3, () => ({ s, op: "getACL", path: anyPath() })],
      [5, () => ({ s, op: "setACL", path: writePath(), acl: acl(), version: r() < 0.5 ? -1 : version() })],
      [2, () => ({ s, op: "getAllChildrenNumber", path: anyPath() })],
      [2, () => ({ s, op: "getEphemerals", path: r() < 0.5 ? "/" : pick(r, ["/a", "/b"]) })],
      [1, () => reconnect(s)],
      [1, () => addAuth(s)],
      [
        2,
        () => {
          away[s] = 6 + Math.floor(r() * 10);
          return { s, op: "disconnect" };
        },
      ],
    ])();
    ops.push({ ...op, m });
  }
  return ops;
}
