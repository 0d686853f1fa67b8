// setSequence on a real 3-node ensemble: a client without ADMIN on the node is refused with
// NOAUTH, the super user's call on a follower is forwarded to the leader and logged like any
// write, every member applies it (same digest), and after the leader is killed the new leader
// keeps numbering from the raised counter.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, CreateMode, KeeperError, Perms, type KeeperClient } from "@keeper/client";
import { startEnsemble, type Ensemble } from "../support/ensemble.ts";
import { digestId } from "../zookeeper/differential/acls.ts";

const SUPER = "super:opensesame";
/** Everything but ADMIN: anyone may create children, only the super user may renumber them. */
const NO_ADMIN = [{ perms: Perms.ALL & ~Perms.ADMIN, scheme: "world", id: "anyone" }];

async function codeOf(p: Promise<unknown>): Promise<number | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof KeeperError) return e.code;
    throw e;
  }
}

describe("setSequence in an ensemble", () => {
  let e: Ensemble;
  const clients: KeeperClient[] = [];
  beforeAll(async () => {
    e = await startEnsemble({ size: 3, extraArgs: ["--super-digest", digestId(SUPER)] });
  }, 90_000);
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await e?.cleanup();
  });

  it("is refused without ADMIN, forwarded and replicated for the super user, and survives a leader change", { timeout: 120_000 }, async () => {
    const { node: leader } = await e.waitForLeader();
    const followers = e.nodes.filter((n) => n !== leader);
    const anon = await e.connect({ hosts: [followers[0]!] });
    const admin = await e.connect({ hosts: [followers[0]!] });
    const other = await e.connect({ hosts: [followers[1]!] });
    clients.push(anon, admin, other);
    await admin.addAuth("digest", SUPER);

    await anon.create("/jobs", "", { acl: NO_ADMIN });
    expect(await anon.create("/jobs/j-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL })).toBe("/jobs/j-0000000000");
    expect(await codeOf(anon.setSequence("/jobs", 500))).toBe(Code.NOAUTH);
    expect(await codeOf(admin.setSequence("/nope", 5))).toBe(Code.NONODE);
    expect(await codeOf(admin.setSequence("/jobs", -1))).toBe(Code.BADARGUMENTS);

    const stat = await admin.setSequence("/jobs", 500);
    // The client's view of the counter, as ZooKeeper shows it: 2 * counter - numChildren.
    expect(stat.cversion).toBe(2 * 500 - 1);
    // Lower is a no-op: the counter never goes back, so no name is handed out twice.
    expect((await admin.setSequence("/jobs", 3)).cversion).toBe(999);

    await other.sync("/jobs");
    expect(await other.create("/jobs/j-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL })).toBe("/jobs/j-0000000500");
    const converged = await e.waitConverged();
    expect(new Set(converged.statuses.map((s) => s.digest)).size).toBe(1);

    // Every member applied it: a new leader, elected from the followers, continues the numbering.
    await leader.kill();
    await e.waitForLeader({ notId: leader.id });
    const after = await e.connect({ hosts: followers });
    clients.push(after);
    expect(await after.create("/jobs/j-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL })).toBe("/jobs/j-0000000501");
  });
});
