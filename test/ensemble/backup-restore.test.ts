// Backup and restore across ensembles: `keeper backup` from a follower of a 3-node ensemble
// under write load, then `keeper restore` of that one file into each node of a fresh 3-node
// ensemble. The new ensemble elects a leader and every member serves the backed-up state:
// the same zxid and digest the backup reports, ACLs, data and modes intact, and each writer's
// counter equal to its item count, which a fuzzy copy (or a client-side walk) would break,
// since each multi moved both at once while the backup was being taken.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { CreateMode, Perms, type KeeperClient } from "@keeper/client";
import { runBackup, runRestore } from "../../packages/cli/src/backup.ts";
import type { Io } from "../../packages/cli/src/io.ts";
import { Ensemble, poll } from "../support/ensemble.ts";
import { tempDir } from "../support/processes.ts";

const WRITERS = 4;
const SEED_NODES = 4_000;
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function captureIo(): Io & { out: (l: string) => void; lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l) };
}

/** Each op is one multi: set <root>/counter to n and create <root>/items/<n>; both or neither. */
async function writeLoop(client: KeeperClient, root: string, stop: { now: boolean }, acked: { n: number }): Promise<void> {
  await client.create(root, "");
  await client.create(`${root}/counter`, "-1");
  await client.create(`${root}/items`, "");
  for (let n = 0; !stop.now; n++) {
    await client.transaction().setData(`${root}/counter`, String(n)).create(`${root}/items/${String(n).padStart(8, "0")}`, "x").commit();
    acked.n = n + 1;
  }
}

/** A 3-node ensemble given a minute to start: this test runs on machines shared with other work. */
async function startSlowly(): Promise<Ensemble> {
  const e = new Ensemble();
  e.healthTimeoutMs = 60_000;
  await e.allocate(3);
  await e.startAll();
  await e.waitForLeader({ timeoutMs: 60_000 });
  return e;
}

describe("keeper backup / keeper restore", () => {
  const backupDir = tempDir("keeper-backup-");
  let source: Ensemble | undefined;
  let target: Ensemble | undefined;
  afterAll(async () => {
    await source?.cleanup();
    await target?.cleanup();
    backupDir.cleanup();
  });

  it("a backup taken from a follower under write load restores into a fresh 3-node ensemble with identical digests", async () => {
    source = await startSlowly();
    onTestFailed(() => console.log(source?.output(), target?.output()));
    const admin = await source.connect();
    // A tree with some bulk, ACLs, binary data, and an ephemeral whose session is live.
    await admin.create("/bulk", "");
    for (let i = 0; i < SEED_NODES; i += 500) {
      const tx = admin.transaction();
      for (let j = i; j < i + 500; j++) tx.create(`/bulk/n${j}`, `value ${j}`.repeat(4));
      await tx.commit();
    }
    await admin.create("/secret", "s", { acl: [{ scheme: "world", id: "anyone", perms: Perms.READ }, { scheme: "digest", id: "bob:9bUbaqf/ZSMdkL9vGIEXmhEZGJg=", perms: Perms.ALL }] });
    await admin.create("/binary", new Uint8Array([0, 1, 2, 255]));
    await admin.create("/seq-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL });
    await admin.create("/eph", "held", { mode: CreateMode.EPHEMERAL });
    await admin.create("/box", "", { mode: CreateMode.CONTAINER });
    await admin.create("/box/in", "");

    const sourceAcl = await admin.getACL("/secret");
    const stop = { now: false };
    const acked = Array.from({ length: WRITERS }, () => ({ n: 0 }));
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => source!.connect()));
    const loops = writers.map((c, w) => writeLoop(c, `/load${w}`, stop, acked[w]!));
    await poll(() => acked.every((a) => a.n >= 20), { timeoutMs: 30_000, what: "every writer to get going" });

    const follower = (await source.statuses()).find((s) => s.status.state === "following")!;
    expect(follower).toBeDefined();
    const file = join(backupDir.path, "ensemble.kbak");
    const io = captureIo();
    const ackedBefore = acked.reduce((n, a) => n + a.n, 0);
    const code = await runBackup([file, "--connect", follower.node.address, "-o", "json"], {}, io);
    const ackedAfter = acked.reduce((n, a) => n + a.n, 0);
    stop.now = true;
    await Promise.all(loops);
    const sourceRoot = (await admin.getChildren("/")).children.sort();
    expect(code, io.errors.join("\n")).toBe(0);
    // The writers went on while the backup was taken: it had to be exact under writes.
    expect(ackedAfter).toBeGreaterThan(ackedBefore);
    const summary = JSON.parse(io.lines[0]!) as { zxid: number; digest: string; nodes: number; sha256: string; from: string };
    expect(summary.from).toBe(follower.node.address);
    expect(existsSync(`${file}.partial`)).toBe(false);
    // The source kept going past the backup's zxid.
    expect((await source.waitConverged()).lastZxid).toBeGreaterThan(summary.zxid);

    const adminSession = admin.sessionId;
    // The source is done with: stopping it leaves the machine to the new ensemble.
    await source.cleanup();
    source = undefined;

    target = new Ensemble();
    target.healthTimeoutMs = 60_000;
    await target.allocate(3);
    for (const node of target.nodes) {
      const rio = captureIo();
      expect(await runRestore([file, "--data-dir", target.dataDir, "--server-id", String(node.id)], {}, rio), rio.errors.join("\n")).toBe(0);
      expect(rio.lines[0]).toContain(`digest ${summary.digest}`);
    }
    await target.startAll();
    await target.waitForLeader({ timeoutMs: 60_000 });
    const converged = await target.waitConverged({ timeoutMs: 30_000 });
    // Sessions restored with the state expire only after their timeout (30 s), so nothing has
    // been written yet: every member is exactly at the backup.
    expect(converged.lastZxid).toBe(summary.zxid);
    for (const s of converged.statuses) expect(s.digest).toBe(summary.digest);
    expect(converged.nodes).toBe(summary.nodes);

    const client = await target.connect();
    for (let w = 0; w < WRITERS; w++) {
      const counter = Number(text((await client.getData(`/load${w}/counter`)).data));
      const items = (await client.getChildren(`/load${w}/items`)).children.length;
      expect(items, `writer ${w}: items vs counter`).toBe(counter + 1);
    }
    // getACL hides digest hashes from a client without ADMIN on the node, as ZooKeeper does;
    // the stat's ACL version and the visible entries match the source's, and the digest above
    // covers the hash itself.
    const restoredAcl = await client.getACL("/secret");
    expect(restoredAcl.acl).toEqual(sourceAcl.acl);
    expect(restoredAcl.acl.map((a) => `${a.scheme}:${a.perms}`)).toEqual([`world:${Perms.READ}`, `digest:${Perms.ALL}`]);
    expect([...(await client.getData("/binary")).data]).toEqual([0, 1, 2, 255]);
    const rootChildren = (await client.getChildren("/")).children.sort();
    expect(rootChildren).toEqual(sourceRoot);
    expect(rootChildren.filter((c) => /^seq-\d{10}$/.test(c))).toHaveLength(1);
    expect((await client.exists("/eph"))!.ephemeralOwner).toBe(adminSession);
    expect((await client.getChildren("/bulk")).children.length).toBe(SEED_NODES);
    // The restored ensemble takes writes after the backup's zxid, in a later epoch.
    await client.create("/after-restore", "yes");
    const after = await target.waitConverged();
    expect(after.lastZxid).toBeGreaterThan(summary.zxid);
    expect(Math.floor(after.lastZxid / 2 ** 32)).toBeGreaterThan(Math.floor(summary.zxid / 2 ** 32));
  });
});
