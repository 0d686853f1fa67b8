// setSequence, Keeper's own write: raises the counter that numbers a node's sequential
// children (the internal cversion), so a tree copied from another server continues its
// numbering. It only rises, needs ADMIN, and is an ordinary logged transaction.
import { Code, CreateMode, Perms, type Acl, type Identity } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { ReplicatedState, clientStat, prepRequest, type WriteRequest } from "../src/index.ts";
import { Harness, SESSION, codeOf, createReq, createdPath } from "./harness.ts";

const raise = (path: string, next: number): WriteRequest => ({ type: "setSequence", path, next });
const seq = (h: Harness, parent: string) => createdPath(h.create(`${parent}/x-`, "", CreateMode.PERSISTENT_SEQUENTIAL));

describe("setSequence: the counter", () => {
  it("DataTree.apply() raises the counter, and the next sequential child continues from it", () => {
    const h = new Harness();
    h.create("/p");
    h.create("/p/a");
    const s = h.submit(raise("/p", 7));
    expect(s.applied?.err).toBe(Code.OK);
    expect(h.tree.node("/p")!.stat.cversion).toBe(7);
    // Clients see 2 * counter - numChildren, as ZooKeeper's copyStat.
    expect(s.applied?.result).toEqual({ type: "setSequence", stat: clientStat(h.tree.node("/p")!.stat) });
    expect(h.tree.stat("/p")!.cversion).toBe(13);
    expect(seq(h, "/p")).toBe("/p/x-0000000007");
    expect(seq(h, "/p")).toBe("/p/x-0000000008");
  });

  it("never lowers the counter: a smaller next leaves it where it is", () => {
    const h = new Harness();
    h.create("/p");
    for (let i = 0; i < 5; i++) seq(h, "/p");
    const s = h.submit(raise("/p", 2));
    expect(s.prep).toMatchObject({ kind: "txn", txn: { body: { type: "setSequence", path: "/p", cversion: 5 } } });
    expect(seq(h, "/p")).toBe("/p/x-0000000005");
  });

  it("prepRequest() sees a prepared but unapplied raise: a create prepared right after it uses the new counter", () => {
    const h = new Harness();
    h.create("/p");
    h.submit(raise("/p", 40), { defer: true });
    const c = h.create("/p/x-", "", CreateMode.PERSISTENT_SEQUENTIAL, { defer: true });
    expect(createdPath(c)).toBe("/p/x-0000000040");
    const outcomes = h.applyAll();
    expect(outcomes.map((o) => o.err)).toEqual([Code.OK, Code.OK]);
    expect(h.tree.children("/p")).toEqual(["x-0000000040"]);
  });

  it("is a logged transaction: replaying the log gives the same tree, counters and digest", () => {
    const h = new Harness();
    h.create("/p");
    h.submit(raise("/p", 1000));
    seq(h, "/p");
    const replica = new ReplicatedState();
    for (const txn of h.log) replica.apply(txn);
    expect(replica.tree.digest()).toBe(h.tree.digest());
    expect(replica.tree.stat("/p")).toEqual(h.tree.stat("/p"));
  });

  it("changes the digest (a replica that missed it would be told apart)", () => {
    const h = new Harness();
    h.create("/p");
    const before = h.tree.digest();
    h.submit(raise("/p", 3));
    expect(h.tree.digest()).not.toBe(before);
  });
});

describe("setSequence: refusals", () => {
  it.each([
    { name: "a negative next", request: raise("/p", -1), expected: { stateless: Code.BADARGUMENTS } },
    { name: "a next beyond int32", request: raise("/p", 2 ** 31), expected: { stateless: Code.BADARGUMENTS } },
    { name: "a fractional next", request: raise("/p", 1.5), expected: { stateless: Code.BADARGUMENTS } },
    { name: "an invalid path", request: raise("/p/", 1), expected: { stateless: Code.BADARGUMENTS } },
    { name: "a missing node", request: raise("/nope", 1), expected: { txn: Code.NONODE } },
  ])("$name gives $expected", ({ request, expected }) => {
    const h = new Harness();
    h.create("/p");
    const digest = h.tree.digest();
    const s = h.submit(request);
    if ("stateless" in expected) expect(s.prep).toMatchObject({ kind: "error", err: expected.stateless });
    else expect(s.prep).toMatchObject({ kind: "txn", txn: { body: { type: "error", err: expected.txn } } });
    expect(h.tree.digest()).toBe(digest);
  });

  const noAdmin: Acl[] = [{ perms: Perms.ALL & ~Perms.ADMIN, scheme: "world", id: "anyone" }];
  const prepAs = (ids: Identity[], acl: Acl[]) => {
    const h = new Harness();
    h.submit(createReq("/p", "", CreateMode.PERSISTENT, acl));
    const zxid = h.nextZxid;
    return prepRequest({ view: h.view, ids, zxid, time: 0, sessionId: SESSION, cxid: 1, dataBytesMax: 1024 }, raise("/p", 9));
  };

  it.each([
    { who: "a client with CREATE but not ADMIN", ids: [{ scheme: "ip", id: "10.0.0.1" }], acl: noAdmin, code: Code.NOAUTH },
    { who: "a client granted ADMIN by the node's ACL", ids: [{ scheme: "ip", id: "10.0.0.1" }], acl: [{ perms: Perms.ADMIN, scheme: "ip", id: "10.0.0.1" }], code: Code.OK },
    { who: "the super user, whatever the ACL", ids: [{ scheme: "super", id: "root" }], acl: noAdmin, code: Code.OK },
  ])("$who gets code $code", ({ ids, acl, code }) => {
    expect(codeOf(prepAs(ids, acl))).toBe(code);
  });
});
