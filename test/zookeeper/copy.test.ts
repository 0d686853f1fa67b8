// `keeper copy --from zk://...` against Debian's Apache ZooKeeper 3.8: a subtree with text and
// binary data, digest and read-only ACLs, sequential names and an ephemeral is copied into a
// Keeper server; data, ACLs and persistent nodes are reproduced, the ephemeral is skipped.
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
  }, 120_000);

  afterAll(async () => {
    await zk?.close().catch(() => {});
    await zookeeper?.stop();
    await h.cleanup();
  });

  it("reproduces data, ACLs and persistent nodes, and skips the ephemeral", async () => {
    const run = await h.cli(["copy", "--from", `zk://127.0.0.1:${zookeeper!.ports[0]}/app`, "--from-auth", "bob:secret", "--to", "/migrated", "--connect", keeperServer.connectString], { timeoutMs: 60_000 }).done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("created 7, overwrote 0, skipped 1 ephemeral nodes under /migrated\n");
    expect(run.stderr).toMatch(/read 8 nodes from ZooKeeper/);

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

  it("without ZooKeeper credentials the hidden digest is reported and nothing half-protected is written", async () => {
    const run = await h.cli(["copy", "--from", `zk://127.0.0.1:${zookeeper!.ports[0]}/app/secret`, "--to", "/nocreds", "--connect", keeperServer.connectString], { timeoutMs: 60_000 }).done;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/hidden by the source server/);
    expect(await keeper.exists("/nocreds")).toBeNull();
  });
});

