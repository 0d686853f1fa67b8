// Moving a subtree as JSON: `keeper export` walks a source (Keeper, or ZooKeeper for `keeper
// copy`) parents first into an ExportDoc; `keeper import` creates it in Keeper, pipelined on
// one session (the server runs one session's requests in order, so a child's create may follow
// its parent's before that one is answered), then carries each node's sequence counter over.
//
// The counter (ZooKeeper's internal parent cversion) numbers sequential children: it counts
// child creations, so it is ahead of the children a copy creates wherever children were
// deleted or were ephemeral. Clients do not see it directly: Stat.cversion shows
// 2 * counter - numChildren (ZooKeeper's DataNode.copyStat; Keeper's clientStat), so
// counter = (cversion + numChildren) / 2, the same for either source.
import { Code, CreateMode, KeeperError, Perms, joinPath, parentOf, type Acl } from "@keeper/protocol";
import { UsageError } from "./errors.ts";
import { formatPerms, parseAcl } from "./format.ts";
import type { KeeperClient } from "./ports.ts";

export interface SourceNode {
  data: Uint8Array;
  acl: Acl[];
  ephemeral: boolean;
  /** As the client sees them: Stat.cversion and Stat.numChildren. */
  cversion: number;
  numChildren: number;
}

/** The number the next sequential child of a node gets, from what a client sees of it. */
export function nextSequenceOf(node: Pick<SourceNode, "cversion" | "numChildren">): number {
  return (node.cversion + node.numChildren) / 2;
}

/** Where a subtree is read from: a Keeper session or a ZooKeeper one. */
export interface TreeSource {
  children(path: string): Promise<string[]>;
  node(path: string): Promise<SourceNode>;
}

export const EXPORT_FORMAT = "keeper-export";
export const EXPORT_VERSION = 1;

export interface ExportedNode {
  path: string;
  dataBase64: string;
  /** scheme:id:perms, the syntax of setAcl and create --acl. */
  acl: string[];
  /** What the client API shows: containers and TTL nodes read as persistent (ZooKeeper hides them too). */
  mode: "persistent" | "ephemeral";
  cversion: number;
  /**
   * The number the node's next sequential child gets at the source. Absent in exports written
   * before it existed: their counters are not carried over.
   */
  nextSequence?: number;
}

export interface ExportDoc {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  root: string;
  nodes: ExportedNode[];
}

/** ZooKeeper shows digest ACL ids as "user:x" to a client without ADMIN on the node. */
export function isRedacted(acl: Acl): boolean {
  return acl.scheme === "digest" && /:x$/.test(acl.id);
}

/** The system subtree ZooKeeper and Keeper both keep: never exported. */
const SYSTEM = "/zookeeper";

export async function exportTree(source: TreeSource, root: string, progress: (count: number) => void, warn: (line: string) => void): Promise<ExportDoc> {
  const nodes: ExportedNode[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    if (path === SYSTEM || path.startsWith(SYSTEM + "/")) continue;
    let node: SourceNode;
    let children: string[];
    try {
      [node, children] = await Promise.all([source.node(path), source.children(path)]);
    } catch (err) {
      // Deleted while the walk went on: a walk is a listing, not a snapshot.
      if (err instanceof KeeperError && err.code === Code.NONODE && path !== root) continue;
      throw err;
    }
    for (const a of node.acl) if (isRedacted(a)) warn(`${path}: the server hid the digest of ACL entry digest:${a.id} (authenticate as a user with ADMIN on it to export it)`);
    nodes.push({ path, dataBase64: Buffer.from(node.data).toString("base64"), acl: node.acl.map((a) => `${a.scheme}:${a.id}:${formatPerms(a.perms)}`), mode: node.ephemeral ? "ephemeral" : "persistent", cversion: node.cversion, nextSequence: nextSequenceOf(node) });
    if (nodes.length % 1000 === 0) progress(nodes.length);
    // Reversed onto the stack, so children come out sorted.
    for (const c of [...children].sort().reverse()) stack.push(joinPath(path, c));
  }
  progress(nodes.length);
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, root, nodes };
}

/** Checks a parsed JSON document and returns it typed; every problem names the node. */
export function checkExportDoc(doc: unknown): ExportDoc {
  const d = doc as Partial<ExportDoc>;
  if (typeof d !== "object" || d === null || d.format !== EXPORT_FORMAT) throw new UsageError(`not a keeper export (expected "format": "${EXPORT_FORMAT}")`);
  if (d.version !== EXPORT_VERSION) throw new UsageError(`export version ${String(d.version)} is not supported (this version reads ${EXPORT_VERSION})`);
  if (typeof d.root !== "string" || !Array.isArray(d.nodes)) throw new UsageError("export: needs a root and a nodes array");
  for (const [i, n] of d.nodes.entries()) {
    if (typeof n?.path !== "string" || !(n.path === d.root || n.path.startsWith(d.root === "/" ? "/" : d.root + "/"))) throw new UsageError(`export: node ${i} has a path outside ${d.root}`);
    if (typeof n.dataBase64 !== "string" || !Array.isArray(n.acl) || (n.mode !== "persistent" && n.mode !== "ephemeral")) throw new UsageError(`export: node ${n.path} is malformed`);
    if (n.nextSequence !== undefined && !(Number.isInteger(n.nextSequence) && n.nextSequence >= 0 && n.nextSequence <= SEQUENCE_MAX)) throw new UsageError(`export: node ${n.path} has nextSequence ${String(n.nextSequence)}, expected an integer 0..${SEQUENCE_MAX}`);
  }
  return d as ExportDoc;
}

/** ZooKeeper's cversion is an int32. */
const SEQUENCE_MAX = 0x7fff_ffff;

export interface ImportResult {
  created: number;
  overwritten: number;
  skippedEphemerals: number;
  /** Nodes whose sequence counter was raised to the source's. */
  sequencesCarried: number;
}

/** Pipelined requests at most. */
const IN_FLIGHT_MAX = 128;

/**
 * Runs `op` over `items` on one session with up to IN_FLIGHT_MAX unanswered; stops starting
 * new ones at the first failure and throws it once the rest have settled.
 */
async function pipelined<T>(items: Iterable<T>, op: (item: T) => Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  for (const item of items) {
    if (failure !== undefined) break;
    const p = op(item).catch((err: unknown) => void (failure ??= { err }));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= IN_FLIGHT_MAX) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure.err;
}

/**
 * Creates the document's nodes under `dest` (the export's root maps to it), parents first.
 * Ephemerals are skipped (they belonged to sessions of the source). An existing node is an
 * error, or with `overwrite` gets the exported data and ACL.
 *
 * Then each node's sequence counter is raised to the source's (`nextSequence`), so the next
 * sequential child continues the source's numbering instead of restarting from the number of
 * children copied. Only where the source is ahead: every child created here already moved
 * its parent's counter one on.
 *
 * A node whose ACL would keep this session from creating its children (world:anyone:r, a
 * digest of another user) or from raising its counter (which needs ADMIN) is created with one
 * more entry, this session's own address with all permissions, and given its exact ACL once
 * everything else is done: so no one else ever sees more than the exported ACL allows, and
 * the import never locks itself out.
 */
export async function importTree(client: KeeperClient, doc: ExportDoc, dest: string, overwrite: boolean, progress: (count: number) => void): Promise<ImportResult> {
  const result: ImportResult = { created: 0, overwritten: 0, skippedEphemerals: 0, sequencesCarried: 0 };
  const target = (path: string) => (path === doc.root ? dest : joinPath(dest, path.slice(doc.root === "/" ? 1 : doc.root.length + 1)));
  // Every ACL is checked before anything is written, so a refused import leaves nothing behind.
  const acls = new Map<string, Acl[]>();
  for (const n of doc.nodes) {
    const acl = parseAcl(n.acl.join(","));
    if (typeof acl === "string") throw new UsageError(`${n.path}: ${acl}`);
    const redacted = acl.find(isRedacted);
    if (redacted) throw new UsageError(`${n.path}: ACL entry digest:${redacted.id} was hidden by the source server; export again authenticated as its owner`);
    acls.set(n.path, acl);
  }
  const me = (await client.whoAmI()).find((i) => i.authScheme === "ip");
  const self: Acl | undefined = me === undefined ? undefined : { scheme: "ip", id: me.user, perms: Perms.ALL };
  const fixLater: Array<{ path: string; acl: Acl[] }> = [];
  const counters: Array<{ path: string; next: number }> = [];
  /** Children this import created under each path: how far it moved that path's counter. */
  const createdBelow = new Map<string, number>();
  const persistent = doc.nodes.filter((n) => n.mode !== "ephemeral");
  result.skippedEphemerals = doc.nodes.length - persistent.length;
  await pipelined(persistent, async (n) => {
    const acl = acls.get(n.path)!;
    const path = target(n.path);
    const data = new Uint8Array(Buffer.from(n.dataBase64, "base64"));
    const open = acl.some((a) => a.scheme === "world" && a.id === "anyone" && a.perms === Perms.ALL);
    const createAcl = open || self === undefined ? acl : [...acl, self];
    if (createAcl !== acl) fixLater.push({ path, acl });
    if (n.nextSequence !== undefined && n.nextSequence > 0) counters.push({ path, next: n.nextSequence });
    try {
      if (path === "/") throw new KeeperError(Code.NODEEXISTS, undefined, "/");
      await client.create(path, data, { mode: CreateMode.PERSISTENT, acl: createAcl });
      result.created++;
      createdBelow.set(parentOf(path), (createdBelow.get(parentOf(path)) ?? 0) + 1);
    } catch (err) {
      if (!(err instanceof KeeperError && err.code === Code.NODEEXISTS)) throw err;
      // The root always exists; the others only when they were there before.
      if (!overwrite && path !== "/") throw err;
      if (!overwrite) return;
      await client.setData(path, data);
      await client.setACL(path, createAcl);
      result.overwritten++;
    }
    if ((result.created + result.overwritten) % 1000 === 0) progress(result.created + result.overwritten);
  });
  await pipelined(
    counters.filter((c) => c.next > (createdBelow.get(c.path) ?? 0)),
    async ({ path, next }) => {
      await client.setSequence(path, next);
      result.sequencesCarried++;
    },
  );
  // Children first: a parent's final ACL may take away what this session needs below it.
  for (const { path, acl } of fixLater.reverse()) await client.setACL(path, acl);
  progress(result.created + result.overwritten);
  return result;
}

/** A Keeper session as a source (`keeper export`). */
export function keeperSource(client: KeeperClient): TreeSource {
  return {
    children: async (path) => (await client.getChildren(path)).children,
    node: async (path) => {
      const [{ data, stat }, { acl }] = await Promise.all([client.getData(path), client.getACL(path)]);
      return { data, acl, ephemeral: stat.ephemeralOwner !== 0, cversion: stat.cversion, numChildren: stat.numChildren };
    },
  };
}
