// `keeper copy --from zk://...` against Debian's Apache ZooKeeper 3.8: a subtree with text and
// binary data, digest and read-only ACLs, sequential names and an ephemeral is copied into a
// Keeper server; data, ACLs and persistent nodes are reproduced, the ephemeral is skipped, and
// each parent's sequence counter carries over: the next sequential child created in Keeper
// gets the name ZooKeeper itself gives its next one, also where children were deleted or
// were ephemeral (ZooKeeper numbers them from the parent's count of child creations).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { AUTH_XID, Code, Perms, type JuteAcl } from "@keeper/protocol";
import type { KeeperClient } from "@keeper/client";
import { Harness, text, type ServerNode } from "../support/harness.ts";
import { ZkRawClient } from "../support/zk-raw.ts";
import { startZooKeeper, zookeeperUnavailable, type Server } from "./differential/servers.ts";

const unavailable = zookeeperUnavailable();
const digest = `bob:${createHash("sha1").update("bob:secret").digest("base64")}`;
const OPEN: JuteAcl[] = [{ perms: Perms.ALL, scheme: "world", id: "anyone" }];
const LOCKED: JuteAcl[] = [
  { perms: Perms.READ, scheme: "world", id: "anyone" },
  { perms: Perms.ALL, scheme: "digest", id: digest },
];
const EPHEMERAL = 1;
const SEQUENTIAL = 2;

describe.skipIf(unavailable !== undefined)("keeper copy --from zk:// (ZooKeeper 3.8)", () => {
  const h = new Harness();
  let zookeeper: Server | undefined;
  let zk: ZkRawClient;
  let keeperServer: ServerNode;
  let keeper: KeeperClient;

  beforeAll(async () => {
    [zookeeper, keeperServer] = await Promise.all([startZooKeeper(), h.startServer()]);
    zk = await ZkRawClient.connect("127.0.0.1", zookeeper.ports[0]!);
    keeper = await h.connect(keeperServer);
    const create = async (path: string, data: string | Uint8Array, acl = OPEN, flags = 0) => {
      const r = await zk.request({ type: "create", path, data: typeof data === "string" ? new TextEncoder().encode(data) : data, acl, flags });
      expect(r.err, path).toBe(Code.OK);
    };
    await create("/app", "root data");
    await create("/app/config", new Uint8Array([0, 1, 254, 255]));
    await create("/app/secret", "for bob", LOCKED);
    // Only bob may create below it.
    const auth = await zk.request({ type: "auth", authType: 0, scheme: "digest", auth: new TextEncoder().encode("bob:secret") }, 10_000, AUTH_XID);
    expect(auth.err).toBe(Code.OK);
    await create("/app/secret/below", "inner");
    await create("/app/queue", "");
    await create("/app/queue/q-", "first", OPEN, SEQUENTIAL);
    await create("/app/queue/q-", "second", OPEN, SEQUENTIAL);
    await create("/app/session", "mine", OPEN, EPHEMERAL);
    // Three jobs, the first two done and deleted, and an ephemeral worker: ZooKeeper's counter
    // for /app/jobs is at 4 while one child is left to copy.
    await create("/app/jobs", "");
    for (let i = 0; i < 3; i++) await create("/app/jobs/job-", "", OPEN, SEQUENTIAL);
    for (const done of ["/app/jobs/job-0000000000", "/app/jobs/job-0000000001"]) expect((await zk.request({ type: "delete", path: done, version: -1 })).err).toBe(Code.OK);
    await create("/app/jobs/worker-", "", OPEN, EPHEMERAL | SEQUENTIAL);
  }, 120_000);

  afterAll(async () => {
    await zk?.close().catch(() => {});
    await zookeeper?.stop();
    await h.cleanup();
  });

  it("reproduces data, ACLs and persistent nodes, and skips the ephemeral", async () => {
    const run = await h.cli(["copy", "--from", `zk://127.0.0.1:${zookeeper!.ports[0]}/app`, "--from-auth", "bob:secret", "--to", "/migrated", "--connect", keeperServer.connectString], { timeoutMs: 60_000 }).done;
    expect(run.code, run.stderr).toBe(0);
    // Counters continued: /app (5 children created at the source, 4 copied) and /app/jobs.
    expect(run.stdout).toBe("created 9, overwrote 0, skipped 2 ephemeral nodes, continued 2 sequence counters under /migrated\n");
    expect(run.stderr).toMatch(/read 11 nodes from ZooKeeper/);

    expect(text((await keeper.getData("/migrated")).data)).toBe("root data");
    expect([...(await keeper.getData("/migrated/config")).data]).toEqual([0, 1, 254, 255]);
    expect((await keeper.getChildren("/migrated/queue")).children.sort()).toEqual(["q-0000000000", "q-0000000001"]);
    expect(text((await keeper.getData("/migrated/queue/q-0000000001")).data)).toBe("second");
    expect(await keeper.exists("/migrated/session")).toBeNull();
    // The protected node keeps exactly ZooKeeper's ACL: readable by all, writable only by bob.
    await keeper.addAuth("digest", "bob:secret");
    expect((await keeper.getACL("/migrated/secret")).acl).toEqual(LOCKED);
    expect(text((await keeper.getData("/migrated/secret/below")).data)).toBe("inner");
    const anonymous = await h.connect(keeperServer);
    await expect(anonymous.setData("/migrated/secret", "changed")).rejects.toMatchObject({ code: Code.NOAUTH });
    expect(text((await anonymous.getData("/migrated/secret")).data)).toBe("for bob");
  });

  it("a sequential child created in Keeper after the copy gets the name ZooKeeper gives its next one", async () => {
    for (const [parent, prefix] of [["jobs", "job-"], ["queue", "q-"], ["", "s-"]] as const) {
      const source = `/app${parent === "" ? "" : `/${parent}`}`;
      const copied = `/migrated${parent === "" ? "" : `/${parent}`}`;
      const inKeeper = await keeper.create(`${copied}/${prefix}`, "", { mode: SEQUENTIAL });
      const r = await zk.request({ type: "create", path: `${source}/${prefix}`, data: new Uint8Array(0), acl: OPEN, flags: SEQUENTIAL });
      expect(r.err).toBe(Code.OK);
      const inZooKeeper = r.body?.type === "create" ? r.body.path : undefined;
      expect(inKeeper.slice(copied.length), `next child of ${source}`).toBe(inZooKeeper?.slice(source.length));
    }
    // ZooKeeper's counter for /app/jobs was 4: job-0, job-1 (deleted), job-2, worker-3 (ephemeral).
    expect(await keeper.getChildren("/migrated/jobs")).toMatchObject({ children: expect.arrayContaining(["job-0000000002", "job-0000000004"]) });
  });

  it("without ZooKeeper credentials the hidden digest is reported and nothing half-protected is written", async () => {
    const run = await h.cli(["copy", "--from", `zk://127.0.0.1:${zookeeper!.ports[0]}/app/secret`, "--to", "/nocreds", "--connect", keeperServer.connectString], { timeoutMs: 60_000 }).done;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/hidden by the source server/);
    expect(await keeper.exists("/nocreds")).toBeNull();
  });
});

