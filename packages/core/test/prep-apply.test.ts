// The rules of each write, as tables: prep against the view, apply to the tree, and the code and
// Stat fields that come out. Semantics are ZooKeeper 3.8's.
import { Code, CreateMode, Perms, asSessionId, limits, type Acl, type Stat, type Zxid } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import type { WriteRequest } from "../src/index.ts";
import { Harness, SESSION, acl, bytes, codeOf, createReq, createdPath, text } from "./harness.ts";

const DATA_MAX = 16;

/** /a (data "x") with child /a/b, and /e, an ephemeral of SESSION. */
function fixture(): Harness {
  const h = new Harness(DATA_MAX);
  h.create("/a", "x");
  h.create("/a/b");
  h.create("/e", "", CreateMode.EPHEMERAL);
  return h;
}

type Expect = "ok" | { stateless: Code } | { txn: Code };

interface Case {
  name: string;
  request: WriteRequest;
  expect: Expect;
}

const ok = "ok" as const;
const stateless = (c: Code) => ({ stateless: c });
const txnErr = (c: Code) => ({ txn: c });
const badAcl = (a: Acl[]) => createReq("/n", "", CreateMode.PERSISTENT, a);

const createCases: Case[] = [
  { name: "PERSISTENT", request: createReq("/n"), expect: ok },
  { name: "EPHEMERAL", request: createReq("/n", "", CreateMode.EPHEMERAL), expect: ok },
  { name: "PERSISTENT_SEQUENTIAL", request: createReq("/a/s-", "", CreateMode.PERSISTENT_SEQUENTIAL), expect: ok },
  { name: "EPHEMERAL_SEQUENTIAL", request: createReq("/a/s-", "", CreateMode.EPHEMERAL_SEQUENTIAL), expect: ok },
  { name: "sequential with a trailing slash", request: createReq("/a/", "", CreateMode.PERSISTENT_SEQUENTIAL), expect: ok },
  { name: "data at dataBytesMax", request: createReq("/n", "x".repeat(DATA_MAX)), expect: ok },
  { name: "a missing parent", request: createReq("/x/y"), expect: txnErr(Code.NONODE) },
  { name: "an existing node", request: createReq("/a"), expect: txnErr(Code.NODEEXISTS) },
  { name: "the root", request: createReq("/"), expect: txnErr(Code.NODEEXISTS) },
  { name: "/zookeeper", request: createReq("/zookeeper"), expect: txnErr(Code.NODEEXISTS) },
  { name: "a parent that is ephemeral", request: createReq("/e/c"), expect: txnErr(Code.NOCHILDRENFOREPHEMERALS) },
  { name: "a sequential child of an ephemeral", request: createReq("/e/c-", "", CreateMode.PERSISTENT_SEQUENTIAL), expect: txnErr(Code.NOCHILDRENFOREPHEMERALS) },
  { name: "an empty path", request: createReq(""), expect: stateless(Code.BADARGUMENTS) },
  { name: "a relative path", request: createReq("a"), expect: stateless(Code.BADARGUMENTS) },
  // As ZooKeeper: a bad name whose parent exists is BADARGUMENTS, checked after the parent
  // lookup, so it is a state-dependent error transaction; a missing parent wins with NONODE.
  { name: "a trailing slash", request: createReq("/a/"), expect: txnErr(Code.BADARGUMENTS) },
  { name: "an empty name", request: createReq("/a//b"), expect: txnErr(Code.NONODE) },
  { name: "a '.' name", request: createReq("/a/."), expect: txnErr(Code.BADARGUMENTS) },
  { name: "a '..' name", request: createReq("/a/.."), expect: txnErr(Code.BADARGUMENTS) },
  { name: "a control character", request: createReq("/a\u0001b"), expect: txnErr(Code.BADARGUMENTS) },
  { name: "a null character", request: createReq("/a\u0000"), expect: stateless(Code.BADARGUMENTS) },
  { name: "data over dataBytesMax", request: createReq("/n", "x".repeat(DATA_MAX + 1)), expect: stateless(Code.BADARGUMENTS) },
  { name: "an empty ACL", request: badAcl([]), expect: stateless(Code.INVALIDACL) },
  { name: "an unknown ACL scheme", request: badAcl([{ perms: Perms.ALL, scheme: "nope", id: "anyone" }]), expect: stateless(Code.INVALIDACL) },
  { name: "the auth scheme", request: badAcl([{ perms: Perms.ALL, scheme: "auth", id: "" }]), expect: stateless(Code.INVALIDACL) },
  { name: "world with an id other than anyone", request: badAcl([{ perms: Perms.ALL, scheme: "world", id: "bob" }]), expect: stateless(Code.INVALIDACL) },
  { name: "more ACL entries than aclEntriesMax", request: badAcl(Array.from({ length: limits.aclEntriesMax + 1 }, (_, i) => ({ perms: Perms.READ, scheme: "ip", id: `10.0.0.${i}` }))), expect: stateless(Code.INVALIDACL) },
  // As ZooKeeper, which stores any int: bits beyond ALL grant nothing more.
  { name: "permissions beyond ALL", request: badAcl([{ perms: 32, scheme: "world", id: "anyone" }]), expect: ok },
  { name: "permissions -1", request: badAcl([{ perms: -1, scheme: "world", id: "anyone" }]), expect: ok },
  { name: "permissions beyond a 32-bit int", request: badAcl([{ perms: 2 ** 31, scheme: "world", id: "anyone" }]), expect: stateless(Code.INVALIDACL) },
  { name: "PERSISTENT_WITH_TTL mode without a ttl", request: createReq("/n", "", CreateMode.PERSISTENT_WITH_TTL), expect: stateless(Code.BADARGUMENTS) },
  { name: "PERSISTENT_SEQUENTIAL_WITH_TTL mode without a ttl", request: createReq("/n", "", CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL), expect: stateless(Code.BADARGUMENTS) },
  { name: "a ttl on a PERSISTENT create", request: { ...createReq("/n", "", CreateMode.PERSISTENT), ttlMs: 1000 } as WriteRequest, expect: stateless(Code.BADARGUMENTS) },
];

const del = (path: string, version = -1): WriteRequest => ({ type: "delete", path, version });
const deleteCases: Case[] = [
  { name: "the right version", request: del("/a/b", 0), expect: ok },
  { name: "version -1", request: del("/a/b", -1), expect: ok },
  { name: "an ephemeral", request: del("/e"), expect: ok },
  { name: "a wrong version", request: del("/a/b", 3), expect: txnErr(Code.BADVERSION) },
  { name: "a missing node", request: del("/a/nope"), expect: txnErr(Code.NONODE) },
  { name: "a missing parent", request: del("/x/y"), expect: txnErr(Code.NONODE) },
  { name: "a node with children", request: del("/a"), expect: txnErr(Code.NOTEMPTY) },
  { name: "a wrong version and children (version is checked first)", request: del("/a", 7), expect: txnErr(Code.BADVERSION) },
  { name: "the root", request: del("/"), expect: stateless(Code.BADARGUMENTS) },
  { name: "/zookeeper", request: del("/zookeeper"), expect: stateless(Code.BADARGUMENTS) },
  { name: "/zookeeper/quota", request: del("/zookeeper/quota"), expect: stateless(Code.BADARGUMENTS) },
  { name: "/zookeeper/config", request: del("/zookeeper/config"), expect: stateless(Code.BADARGUMENTS) },
  { name: "an invalid path", request: del("/a/"), expect: stateless(Code.BADARGUMENTS) },
];

const set = (path: string, version: number, data = "new"): WriteRequest => ({ type: "setData", path, data: bytes(data), version });
const setDataCases: Case[] = [
  { name: "the right version", request: set("/a", 0), expect: ok },
  { name: "version -1", request: set("/a", -1), expect: ok },
  { name: "empty data", request: set("/a", -1, ""), expect: ok },
  { name: "a wrong version", request: set("/a", 1), expect: txnErr(Code.BADVERSION) },
  { name: "a missing node", request: set("/nope", -1), expect: txnErr(Code.NONODE) },
  { name: "data over dataBytesMax", request: set("/a", -1, "y".repeat(DATA_MAX + 1)), expect: stateless(Code.BADARGUMENTS) },
  { name: "an invalid path", request: set("a", -1), expect: stateless(Code.BADARGUMENTS) },
];

const setAcl = (path: string, version: number, a: Acl[] = [{ perms: Perms.READ, scheme: "world", id: "anyone" }]): WriteRequest => ({ type: "setACL", path, acl: a, version });
const setAclCases: Case[] = [
  { name: "the right aversion", request: setAcl("/a", 0), expect: ok },
  { name: "version -1", request: setAcl("/a", -1), expect: ok },
  { name: "a digest ACL", request: setAcl("/a", -1, [{ perms: Perms.ALL, scheme: "digest", id: "bob:hash" }]), expect: ok },
  { name: "a wrong aversion", request: setAcl("/a", 1), expect: txnErr(Code.BADVERSION) },
  { name: "a missing node", request: setAcl("/nope", -1), expect: txnErr(Code.NONODE) },
  { name: "an empty ACL", request: setAcl("/a", -1, []), expect: stateless(Code.INVALIDACL) },
  { name: "an invalid path", request: setAcl("/a/", -1), expect: stateless(Code.BADARGUMENTS) },
];

const check = (path: string, version: number): WriteRequest => ({ type: "check", path, version });
const checkCases: Case[] = [
  { name: "the right version", request: check("/a", 0), expect: ok },
  { name: "version -1", request: check("/a", -1), expect: ok },
  { name: "a wrong version", request: check("/a", 2), expect: txnErr(Code.BADVERSION) },
  { name: "a missing node", request: check("/nope", -1), expect: txnErr(Code.NONODE) },
  { name: "an invalid path", request: check("/a/", -1), expect: stateless(Code.BADARGUMENTS) },
];

const syncCases: Case[] = [
  { name: "an existing path", request: { type: "sync", path: "/a" }, expect: ok },
  // ZooKeeper's sync does not look the path up.
  { name: "a missing path", request: { type: "sync", path: "/nope" }, expect: ok },
  { name: "an invalid path", request: { type: "sync", path: "" }, expect: stateless(Code.BADARGUMENTS) },
];

function runCase(c: Case): void {
  const h = fixture();
  const digest = h.tree.digest();
  const zxid = h.nextZxid;
  const s = h.submit(c.request);
  if (c.expect === "ok") {
    expect(s.prep.kind).toBe("txn");
    expect(codeOf(s.prep)).toBe(Code.OK);
    expect(s.applied?.err).toBe(Code.OK);
    expect(h.tree.lastZxid).toBe(zxid);
  } else if ("stateless" in c.expect) {
    // Answered at once: no zxid is used and nothing reaches the log.
    expect(s.prep).toMatchObject({ kind: "error", err: c.expect.stateless });
    expect(s.prep.kind === "error" && s.prep.reason.length > 0).toBe(true);
    expect(s.zxid).toBeUndefined();
    expect(h.nextZxid).toBe(zxid);
    expect(h.tree.digest()).toBe(digest);
  } else {
    // Ordered after earlier writes as an error transaction, which changes nothing on apply.
    expect(s.prep).toMatchObject({ kind: "txn", txn: { hdr: { zxid }, body: { type: "error", err: c.expect.txn } } });
    expect(s.applied?.err).toBe(c.expect.txn);
    expect(h.tree.digest()).toBe(digest);
    expect(h.tree.lastZxid).toBe(zxid);
  }
  expect(h.view.pendingPaths).toBe(0);
}

const expectName = (c: Case) => (c.expect === "ok" ? "OK" : "stateless" in c.expect ? `stateless ${c.expect.stateless}` : `error txn ${c.expect.txn}`);

describe("prepRequest() + apply()", () => {
  it.each(createCases.map((c) => ({ ...c, outcome: expectName(c) })))("create with $name gives $outcome", (c) => runCase(c));
  it.each(deleteCases.map((c) => ({ ...c, outcome: expectName(c) })))("delete of $name gives $outcome", (c) => runCase(c));
  it.each(setDataCases.map((c) => ({ ...c, outcome: expectName(c) })))("setData with $name gives $outcome", (c) => runCase(c));
  it.each(setAclCases.map((c) => ({ ...c, outcome: expectName(c) })))("setACL with $name gives $outcome", (c) => runCase(c));
  it.each(checkCases.map((c) => ({ ...c, outcome: expectName(c) })))("check with $name gives $outcome", (c) => runCase(c));
  it.each(syncCases.map((c) => ({ ...c, outcome: expectName(c) })))("sync of $name gives $outcome", (c) => runCase(c));
});

describe("prepCreate() names and owners", () => {
  it.each([
    { mode: CreateMode.PERSISTENT, path: "/a/n", name: "/a/n", owner: 0 },
    { mode: CreateMode.EPHEMERAL, path: "/a/n", name: "/a/n", owner: SESSION },
    // /a has had one child created, so its cversion (the counter) is 1.
    { mode: CreateMode.PERSISTENT_SEQUENTIAL, path: "/a/n-", name: "/a/n-0000000001", owner: 0 },
    { mode: CreateMode.EPHEMERAL_SEQUENTIAL, path: "/a/n-", name: "/a/n-0000000001", owner: SESSION },
    { mode: CreateMode.PERSISTENT_SEQUENTIAL, path: "/a/", name: "/a/0000000001", owner: 0 },
  ])("create mode $mode of $path makes $name owned by $owner", ({ mode, path, name, owner }) => {
    const h = fixture();
    const s = h.create(path, "d", mode);
    expect(createdPath(s)).toBe(name);
    expect(s.applied?.result).toMatchObject({ type: "create", path: name });
    expect(h.tree.stat(name)?.ephemeralOwner).toBe(owner);
    expect(h.tree.children("/a")).toContain(name.slice("/a/".length));
    if (owner !== 0) expect([...h.tree.ephemerals(SESSION)]).toContain(name);
  });

  it("the sequential counter counts every child created, deleted ones included", () => {
    const h = new Harness();
    h.create("/p");
    expect(createdPath(h.create("/p/x-", "", CreateMode.PERSISTENT_SEQUENTIAL))).toBe("/p/x-0000000000");
    h.create("/p/plain");
    h.delete("/p/plain");
    expect(createdPath(h.create("/p/y-", "", CreateMode.PERSISTENT_SEQUENTIAL))).toBe("/p/y-0000000002");
  });

  it("a sequential create whose generated name exists gives NODEEXISTS", () => {
    const h = new Harness();
    h.create("/p");
    h.create("/p/x0000000001");
    const s = h.create("/p/x", "", CreateMode.PERSISTENT_SEQUENTIAL);
    expect(codeOf(s.prep)).toBe(Code.NODEEXISTS);
  });

  // Regression (fixed): ZooKeeper 3.8 validates a sequential path as path + "1" and takes the parent from the
  // last "/", so create("/", PERSISTENT_SEQUENTIAL) makes "/0000000001" (a child of the root).
  // Keeper rejects it: pathProblem("/", true) reports a problem (paths.ts:12), and even with that
  // fixed prepCreate would look up parentOf("/") === "" and answer NONODE.
  it("create of / with PERSISTENT_SEQUENTIAL makes a sequential child of the root", () => {
    const h = fixture();
    const s = h.create("/", "", CreateMode.PERSISTENT_SEQUENTIAL);
    expect(codeOf(s.prep)).toBe(Code.OK);
    expect(createdPath(s)).toMatch(/^\/\d{10}$/);
  });

  it("an ephemeral create records the node under its session in the tree", () => {
    const h = new Harness();
    const other = asSessionId(77);
    h.create("/e1", "", CreateMode.EPHEMERAL);
    h.create("/e2", "", CreateMode.EPHEMERAL, { sessionId: other });
    expect([...h.tree.ephemerals(SESSION)]).toEqual(["/e1"]);
    expect([...h.tree.ephemerals(other)]).toEqual(["/e2"]);
    h.delete("/e1");
    expect(h.tree.ephemerals(SESSION).size).toBe(0);
    expect(h.tree.sessionsWithEphemerals()).toEqual([other]);
  });
});

describe("Stat fields after each op", () => {
  const zxidTime = (z: Zxid | undefined) => Harness.timeOf(z!);

  it("DataTree.apply() sets every Stat field of a created node and bumps parent cversion on create", () => {
    const h = new Harness();
    h.create("/p", "pp");
    const before = h.tree.stat("/p")!;
    const s = h.create("/p/c", "hello", CreateMode.EPHEMERAL);
    const z = s.zxid!;
    const expected: Stat = {
      czxid: z, mzxid: z, pzxid: z, ctime: zxidTime(z), mtime: zxidTime(z),
      version: 0, cversion: 0, aversion: 0, ephemeralOwner: SESSION, dataLength: 5, numChildren: 0,
    };
    expect(h.tree.stat("/p/c")).toEqual(expected);
    expect(s.applied?.result).toEqual({ type: "create", path: "/p/c", stat: expected });
    expect(h.tree.stat("/p")).toEqual({ ...before, cversion: before.cversion + 1, numChildren: 1, pzxid: z });
  });

  it("DataTree.apply() sets parent pzxid and numChildren on delete, and clients see cversion count the delete", () => {
    const h = new Harness();
    h.create("/p");
    h.create("/p/c1");
    h.create("/p/c2");
    const before = h.tree.stat("/p")!;
    const s = h.delete("/p/c1", 0);
    expect(s.applied?.result).toEqual({ type: "delete" });
    expect(h.tree.stat("/p/c1")).toBeUndefined();
    // ZooKeeper 3.8 shows cversion = creations + deletions (2 * internal cversion - numChildren).
    expect(h.tree.stat("/p")).toEqual({ ...before, cversion: before.cversion + 1, numChildren: 1, pzxid: s.zxid });
    expect(h.tree.children("/p")).toEqual(["c2"]);
  });

  it("DataTree.apply() bumps version, mzxid, mtime and dataLength on setData and nothing else", () => {
    const h = new Harness();
    h.create("/p", "abc");
    h.create("/p/c");
    const before = h.tree.stat("/p")!;
    const s1 = h.setData("/p", "longer data", 0);
    const after1 = { ...before, version: 1, mzxid: s1.zxid, mtime: zxidTime(s1.zxid), dataLength: 11 };
    expect(h.tree.stat("/p")).toEqual(after1);
    expect(s1.applied?.result).toEqual({ type: "setData", stat: after1 });
    expect(text(h.tree.node("/p")!.data)).toBe("longer data");
    const s2 = h.setData("/p", "", -1);
    expect(h.tree.stat("/p")).toEqual({ ...after1, version: 2, mzxid: s2.zxid, mtime: zxidTime(s2.zxid), dataLength: 0 });
  });

  it("DataTree.apply() bumps aversion on setACL and leaves mzxid and version alone", () => {
    const h = new Harness();
    h.create("/p", "abc");
    const before = h.tree.stat("/p")!;
    const newAcl: Acl[] = [{ perms: Perms.READ | Perms.WRITE, scheme: "ip", id: "10.0.0.1" }];
    const s = h.submit({ type: "setACL", path: "/p", acl: newAcl, version: 0 });
    expect(h.tree.stat("/p")).toEqual({ ...before, aversion: 1 });
    expect(s.applied?.result).toEqual({ type: "setACL", stat: { ...before, aversion: 1 } });
    expect(h.tree.node("/p")!.acl).toEqual(newAcl);
    const again = h.submit({ type: "setACL", path: "/p", acl: acl(), version: 0 });
    expect(codeOf(again.prep)).toBe(Code.BADVERSION);
    h.submit({ type: "setACL", path: "/p", acl: acl(), version: 1 });
    expect(h.tree.stat("/p")!.aversion).toBe(2);
  });

  it("nodes with equal ACLs share one frozen list, and a setACL on one leaves the others alone", () => {
    const h = new Harness();
    h.create("/a", "");
    h.create("/b", "");
    const shared = h.tree.node("/a")!.acl;
    expect(h.tree.node("/b")!.acl).toBe(shared);
    expect(Object.isFrozen(shared) && Object.isFrozen(shared[0])).toBe(true);
    h.submit({ type: "setACL", path: "/a", acl: [{ perms: Perms.READ, scheme: "world", id: "anyone" }], version: -1 });
    expect(h.tree.node("/a")!.acl).toEqual([{ perms: Perms.READ, scheme: "world", id: "anyone" }]);
    expect(h.tree.node("/b")!.acl).toEqual(acl());
  });

  it("a leaf gains and loses children: counts, order and digest stay right", () => {
    const h = new Harness();
    h.create("/p", "");
    const empty = h.tree.digest();
    h.create("/p/b", "");
    h.create("/p/a", "");
    expect(h.tree.children("/p")).toEqual(["a", "b"]);
    h.submit({ type: "delete", path: "/p/a", version: -1 });
    h.submit({ type: "delete", path: "/p/b", version: -1 });
    expect(h.tree.children("/p")).toEqual([]);
    expect(h.tree.node("/p")!.stat.numChildren).toBe(0);
    h.create("/p/c", "");
    expect(h.tree.children("/p")).toEqual(["c"]);
    expect(h.tree.children("/p/c")).toEqual([]);
    h.submit({ type: "delete", path: "/p/c", version: -1 });
    // Only cversion and pzxid moved since: the digest covers them, so it differs from before.
    expect(h.tree.digest()).not.toBe(empty);
    expect(h.tree.node("/")!.children.has("p")).toBe(true);
  });

  it("check and sync change no Stat but use a zxid", () => {
    const h = new Harness();
    h.create("/p", "abc");
    const digest = h.tree.digest();
    const c = h.submit({ type: "check", path: "/p", version: 0 });
    expect(c.applied?.result).toEqual({ type: "check" });
    const s = h.submit({ type: "sync", path: "/p" });
    expect(s.applied?.result).toEqual({ type: "sync", path: "/p" });
    expect(h.tree.digest()).toBe(digest);
    expect(h.tree.lastZxid).toBe(s.zxid);
  });

  it("the system nodes exist from the start with zero stats", () => {
    const h = new Harness();
    expect(h.tree.children("/")).toEqual(["zookeeper"]);
    expect(h.tree.children("/zookeeper")).toEqual(["config", "quota"]);
    expect(h.tree.stat("/zookeeper")).toMatchObject({ czxid: 0, version: 0, numChildren: 2 });
    expect(h.tree.size).toBe(4);
  });
});

describe("multi", () => {
  it("applies every op and returns each op's result", () => {
    const h = fixture();
    const s = h.submit({
      type: "multi",
      ops: [createReq("/m"), createReq("/m/s-", "", CreateMode.PERSISTENT_SEQUENTIAL), { type: "setData", path: "/a", data: bytes("y"), version: 0 }, { type: "check", path: "/a", version: 1 }, { type: "delete", path: "/a/b", version: 0 }],
    });
    expect(s.applied?.err).toBe(Code.OK);
    const results = s.applied?.result?.type === "multi" ? s.applied.result.results : [];
    expect(results.map((r) => r.type)).toEqual(["create", "create", "setData", "check", "delete"]);
    expect(results[1]).toMatchObject({ type: "create", path: "/m/s-0000000000" });
    expect(h.tree.children("/m")).toEqual(["s-0000000000"]);
    expect(h.tree.stat("/a")).toMatchObject({ version: 1, numChildren: 0, pzxid: s.zxid, mzxid: s.zxid });
  });

  it.each([
    { at: 0, ops: 3, expected: [Code.NONODE, Code.RUNTIMEINCONSISTENCY, Code.RUNTIMEINCONSISTENCY] },
    { at: 1, ops: 3, expected: [Code.OK, Code.NONODE, Code.RUNTIMEINCONSISTENCY] },
    { at: 2, ops: 3, expected: [Code.OK, Code.OK, Code.NONODE] },
  ])("a multi failing at op $at gives OK before, the code at, RUNTIMEINCONSISTENCY after", ({ at, ops, expected }) => {
    const h = fixture();
    const digest = h.tree.digest();
    const good = [createReq("/m1"), { type: "setData" as const, path: "/a", data: bytes("z"), version: -1 }, createReq("/m2")];
    const list = good.slice(0, ops).map((op, i) => (i === at ? { type: "delete" as const, path: "/missing", version: -1 } : op));
    const s = h.submit({ type: "multi", ops: list });
    expect(s.prep).toMatchObject({ kind: "txn", txn: { body: { type: "error", err: Code.NONODE, multiErrs: expected } } });
    expect(s.applied?.err).toBe(Code.NONODE);
    expect(s.applied?.result).toEqual({ type: "multi", results: expected.map((err) => ({ type: "error", err })) });
    expect(s.applied?.triggers).toEqual([]);
    expect(h.tree.digest()).toBe(digest);
    expect(h.tree.stat("/m1")).toBeUndefined();
  });

  it("a stateless problem inside a multi fails the multi as an error transaction", () => {
    const h = fixture();
    const s = h.submit({ type: "multi", ops: [createReq("/ok"), createReq("bad")] });
    expect(s.prep).toMatchObject({ kind: "txn", txn: { body: { type: "error", err: Code.BADARGUMENTS, multiErrs: [Code.OK, Code.BADARGUMENTS] } } });
    expect(h.tree.stat("/ok")).toBeUndefined();
  });

  it("ops inside a multi see the earlier ops of the same multi", () => {
    const h = fixture();
    const s = h.submit({
      type: "multi",
      ops: [{ type: "delete", path: "/a/b", version: 0 }, { type: "delete", path: "/a", version: 0 }, createReq("/a", "again"), { type: "check", path: "/a", version: 0 }],
    });
    expect(s.applied?.err).toBe(Code.OK);
    expect(text(h.tree.node("/a")!.data)).toBe("again");
    expect(h.tree.stat("/a")).toMatchObject({ czxid: s.zxid, numChildren: 0, cversion: 0 });
  });

  it("an empty multi succeeds and changes nothing", () => {
    const h = fixture();
    const digest = h.tree.digest();
    const s = h.submit({ type: "multi", ops: [] });
    expect(s.applied).toMatchObject({ err: Code.OK, result: { type: "multi", results: [] } });
    expect(h.tree.digest()).toBe(digest);
  });
});

describe("DataTree.apply() invariants", () => {
  it("rejects a transaction whose zxid is not after the last applied", () => {
    const h = new Harness();
    const s = h.create("/a");
    expect(() => h.state.apply(s.prep.kind === "txn" ? s.prep.txn : (undefined as never))).toThrow(/out of order/);
  });

  it("records createSession and closeSession in the session table", () => {
    const h = new Harness();
    const { txn } = h.createSession(30_000, bytes("pw"));
    const id = txn.hdr.sessionId;
    expect(id).toBe(txn.hdr.zxid);
    expect(h.state.sessions.get(id)).toEqual({ id, timeoutMs: 30_000, password: bytes("pw") });
    h.closeSession(id);
    expect(h.state.sessions.has(id)).toBe(false);
  });
});
