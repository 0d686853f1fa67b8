// ZooKeeper's fixupACL as Keeper applies it to create and setACL: validation per provider,
// duplicates removed before "auth" is expanded, and the entry cap counted after expansion.
import { Perms, limits, type Acl, type Identity, type RequestAcl } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { AclFailure, fixupAcl, javaSetOrder, withoutDuplicates } from "../src/index.ts";

const world = (perms: number = Perms.ALL): Acl => ({ perms, scheme: "world", id: "anyone" });
const digest = (id: string, perms: number = Perms.ALL): Acl => ({ perms, scheme: "digest", id });
const ip = (id: string, perms: number = Perms.ALL): Acl => ({ perms, scheme: "ip", id });
const auth = (id = "", perms: number = Perms.ALL): Acl => ({ perms, scheme: "auth", id });
const bob: Identity = { scheme: "digest", id: "bob:hash=" };
const address: Identity = { scheme: "ip", id: "127.0.0.1" };

describe("fixupAcl", () => {
  it("removes entries equal to an earlier one, keeping the first occurrence's place", () => {
    expect(fixupAcl([world(), world()], [])).toEqual([world()]);
    expect(fixupAcl([world(), ip("10.0.0.1"), world(), ip("10.0.0.1")], [])).toEqual([world(), ip("10.0.0.1")]);
  });

  it("keeps entries that differ only in permissions", () => {
    expect(fixupAcl([world(Perms.READ), world(Perms.WRITE)], [])).toEqual([world(Perms.READ), world(Perms.WRITE)]);
  });

  it("removes duplicates before expanding auth, as ZooKeeper does", () => {
    // Two identical auth entries become one expansion...
    expect(fixupAcl([auth(), auth()], [address, bob])).toEqual([digest(bob.id)]);
    // ...but an expansion equal to an explicit entry stays (ZooKeeper does not dedupe after).
    expect(fixupAcl([digest(bob.id), auth()], [bob])).toEqual([digest(bob.id), digest(bob.id)]);
  });

  it("expands auth to every authenticated identity but the address, whatever its id", () => {
    const carol: Identity = { scheme: "digest", id: "carol:x=" };
    expect(fixupAcl([auth("ignored", Perms.READ)], [address, bob, carol])).toEqual([digest(bob.id, Perms.READ), digest(carol.id, Perms.READ)]);
    expect(fixupAcl([auth()], [address])).toMatch(/authenticated identity/);
  });

  it("counts the entry cap after auth expansion", () => {
    const ids = Array.from({ length: limits.aclEntriesMax + 1 }, (_, i): Identity => ({ scheme: "digest", id: `u${i}:h=` }));
    expect(fixupAcl([auth()], ids)).toMatch(/max/);
    expect(fixupAcl([auth()], ids.slice(0, limits.aclEntriesMax))).toHaveLength(limits.aclEntriesMax);
  });

  it.each([
    ["an empty list", []],
    ["an unknown scheme", [{ perms: Perms.ALL, scheme: "nope", id: "x" }]],
    ["a scheme no stock ZooKeeper serves", [{ perms: Perms.ALL, scheme: "sasl", id: "bob" }]],
    ["world with an id other than anyone", [{ perms: Perms.ALL, scheme: "world", id: "bob" }]],
    ["a digest id without a colon", [digest("bob")]],
    ["a digest id with two colons", [digest("bob:a:b")]],
    ["a digest id with an empty hash", [digest("bob:")]],
    ["an ip id with three parts", [ip("10.0.0")]],
    ["an ip id with an empty part", [ip("10..0.1")]],
    ["an ip part over 255", [ip("10.0.0.256")]],
    ["an ip prefix over 32 bits", [ip("10.0.0.0/33")]],
    ["an ip prefix that is not a number", [ip("10.0.0.0/x")]],
    ["an ip id that is a name", [ip("localhost")]],
    ["a valid entry followed by an invalid one", [world(), digest("bob")]],
  ] as Array<[string, Acl[]]>)("refuses %s", (_name, acl) => {
    expect(typeof fixupAcl(acl, [bob])).toBe("string");
  });

  it.each([
    ["a digest id", [digest("bob:Ot2V3cT0zsqGYzQXqSkI5dgvnRw=")]],
    ["a digest id with an empty user", [digest(":hash")]],
    ["an ip address", [ip("127.0.0.1")]],
    ["a CIDR block", [ip("10.0.0.0/8")]],
    ["a /0 block", [ip("0.0.0.0/0")]],
  ] as Array<[string, Acl[]]>)("accepts %s", (_name, acl) => {
    expect(fixupAcl(acl, [])).toEqual(acl);
  });
});

describe("fixupAcl with jute nulls, as ZooKeeper 3.8 answers them", () => {
  const nullId = (scheme: string, perms: number = Perms.ALL): RequestAcl => ({ perms, scheme, id: null });

  it("a null auth id is ignored like any auth id", () => {
    expect(fixupAcl([nullId("auth")], [bob])).toEqual([digest(bob.id)]);
  });

  it("a null id is not equal to an empty one: [auth:null, auth:''] expands twice", () => {
    expect(fixupAcl([nullId("auth"), auth("")], [bob])).toEqual([digest(bob.id), digest(bob.id)]);
  });

  it("a null id after an entry with the same perms and scheme fails the request (ACL.equals dereferences it)", () => {
    expect(() => fixupAcl([auth(""), nullId("auth")], [bob])).toThrow(AclFailure);
    // Other perms or another scheme: never compared that far.
    expect(fixupAcl([auth("", Perms.READ), nullId("auth")], [bob])).toEqual([digest(bob.id, Perms.READ), digest(bob.id)]);
  });

  it("a null world, digest or ip id fails the request; for an unknown scheme it is INVALIDACL", () => {
    for (const scheme of ["world", "digest", "ip"]) expect(() => fixupAcl([nullId(scheme)], [bob]), scheme).toThrow(AclFailure);
    expect(fixupAcl([nullId("sasl")], [bob])).toMatch(/unknown ACL scheme/);
  });

  it("a null scheme is INVALIDACL, or a failure when an earlier entry has the same perms", () => {
    expect(fixupAcl([{ perms: Perms.ALL, scheme: null, id: "anyone" }], [])).toMatch(/null scheme/);
    expect(() => fixupAcl([world(), { perms: Perms.ALL, scheme: null, id: "anyone" }], [])).toThrow(AclFailure);
  });

  it("entries are checked in order: an invalid entry before a null id answers INVALIDACL", () => {
    expect(fixupAcl([auth(""), nullId("world")], [])).toMatch(/authenticated identity/);
    expect(() => fixupAcl([nullId("world"), auth("")], [])).toThrow(AclFailure);
  });
});

describe("javaSetOrder", () => {
  it("orders identities as ZooKeeper's ConcurrentHashMap-backed set iterates them", () => {
    // Seen on ZooKeeper 3.8: a connection that authenticated as alice, then bob, expands
    // an auth ACL to bob first (bin 3), then alice (bin 7).
    const alice: Identity = { scheme: "digest", id: "alice:8y0lhh/7xkdEiwhX7vo9i+/Nmzc=" };
    const bobId: Identity = { scheme: "digest", id: "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=" };
    expect(javaSetOrder([alice, bobId], (i) => i)).toEqual([bobId, alice]);
    expect(javaSetOrder([bobId, alice], (i) => i)).toEqual([bobId, alice]);
  });
});

describe("withoutDuplicates", () => {
  it("does not confuse entries whose fields run together", () => {
    const a: Acl = { perms: 1, scheme: "digest", id: "a:b" };
    const b: Acl = { perms: 1, scheme: "digesta", id: ":b" };
    expect(withoutDuplicates([a, b])).toEqual([a, b]);
  });
});
