import { describe, expect, it } from "vitest";
import { CONTAINER_OWNER, CreateMode, OPEN_ACL_UNSAFE, formatOwner, ownerFromZk, ownerKind, ttlOwner, zkEphemeralOwner } from "@keeper/protocol";
import { Harness } from "./harness.ts";

const create = (path: string, mode: CreateMode, ttlMs = 0) => ({ type: "create" as const, path, data: new Uint8Array(), acl: [...OPEN_ACL_UNSAFE], mode, ttlMs });

describe("containers and TTL nodes", () => {
  it("a container is created with ZooKeeper's container owner and may have children", () => {
    const h = new Harness();
    h.submit(create("/c", CreateMode.CONTAINER));
    h.submit(create("/c/child", CreateMode.EPHEMERAL));
    expect(h.tree.node("/c")!.stat.ephemeralOwner).toBe(CONTAINER_OWNER);
    expect(h.tree.children("/c")).toEqual(["child"]);
    expect([...h.tree.reapableNodes()]).toEqual(["/c"]);
  });

  it("a TTL node records its ttl in the owner and may have children", () => {
    const h = new Harness();
    h.submit(create("/t", CreateMode.PERSISTENT_WITH_TTL, 5000));
    h.submit(create("/t/x", CreateMode.PERSISTENT));
    expect(ownerKind(h.tree.node("/t")!.stat.ephemeralOwner)).toEqual({ kind: "ttl", ttlMs: 5000 });
    expect(h.tree.stat("/t")!.numChildren).toBe(1);
  });

  it("deleting a container or TTL node forgets it for reaping", () => {
    const h = new Harness();
    h.submit(create("/c", CreateMode.CONTAINER));
    h.submit({ type: "delete", path: "/c", version: -1 });
    expect([...h.tree.reapableNodes()]).toEqual([]);
  });

  it.each([
    [CONTAINER_OWNER, "0x8000000000000000"],
    [ttlOwner(1), "0xff00000000000001"],
    [ttlOwner(2 ** 40 - 1), "0xff0000ffffffffff"],
    [0, "0x0"],
    [2 ** 40 + 5, "0x10000000005"],
  ])("owner %d goes on ZooKeeper's wire as %s and back", (owner, hex) => {
    expect(formatOwner(owner)).toBe(hex);
    expect(ownerFromZk(zkEphemeralOwner(owner))).toBe(owner);
  });
});

describe("null data", () => {
  it("survives apply, the log record and a snapshot, and hashes apart from empty data", async () => {
    const { encodeTxn, decodeTxn, writeSnapshot, readSnapshot } = await import("../src/index.ts");
    const h = new Harness();
    h.submit({ ...create("/null", CreateMode.PERSISTENT), nullData: true });
    h.submit(create("/empty", CreateMode.PERSISTENT));
    expect(h.tree.node("/null")!.dataNull).toBe(true);
    expect(h.tree.node("/empty")!.dataNull).toBe(false);
    const last = h.log[h.log.length - 2]!;
    expect(decodeTxn(encodeTxn(last))).toEqual(last);
    const { chunks } = writeSnapshot(h.tree, h.state.sessions);
    const back = readSnapshot(chunks[0]!, chunks.slice(1));
    expect(back.tree.node("/null")!.dataNull).toBe(true);
    expect(back.tree.digest()).toBe(h.tree.digest());
    const other = new Harness();
    other.submit(create("/null", CreateMode.PERSISTENT));
    other.submit(create("/empty", CreateMode.PERSISTENT));
    expect(other.tree.digest()).not.toBe(h.tree.digest());
  });
});
