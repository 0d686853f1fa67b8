// A full disk under the data dir (a real one: a 8 MiB tmpfs, filled by a file beside the store)
// raises the NOSPACE alarm: writes are refused with NOTREADONLY, reads go on, /status shows
// the alarm; when space is freed the node recovers by itself, the write that hit the full disk
// included, and a restart finds every acknowledged write.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, type KeeperClient } from "@keeper/client";
import { Code, KeeperError } from "@keeper/protocol";
import { startServer, type RunningServer } from "../src/index.ts";
import { isDiskFull } from "../src/storage/disk-space.ts";
import { freePort } from "../../../test/support/processes.ts";
import { tempDir } from "./temp-dir.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Mounts a tmpfs of `mib` MiB at a fresh directory (we run as root); unmounts on cleanup. */
function smallDisk(mib: number): { path: string; cleanup: () => void } {
  const dir = tempDir("keeper-disk-");
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mib}m`, "tmpfs", dir.path]);
  return {
    path: dir.path,
    cleanup: () => {
      execFileSync("umount", [dir.path]);
      dir.cleanup();
    },
  };
}

/** Writes a file until the disk refuses more; returns its path. */
function fillDisk(dir: string): string {
  const path = `${dir}/filler`;
  const block = Buffer.alloc(256 * 1024, 0x5a);
  let parts = 0;
  try {
    for (;;) writeFileSync(path, block, { flag: "a" }), parts++;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  }
  expect(parts).toBeGreaterThan(0);
  return path;
}

describe("disk full (NOSPACE alarm)", () => {
  let disk: ReturnType<typeof smallDisk>;
  let server: RunningServer;
  let client: KeeperClient;
  let clientPort: number;
  const start = async () =>
    (server = await startServer({ zkPort: -1, serverId: 1, dataDir: `${disk.path}/node1`, host: "127.0.0.1", clientPort, logLevel: process.env.DISK_TEST_LOG ?? "silent", tickMs: 50, diskLowSpaceBytes: 4 * 1024 * 1024 }));

  beforeAll(async () => {
    disk = smallDisk(8);
    mkdirSync(`${disk.path}/node1`);
    clientPort = await freePort();
    await start();
    client = await connect(`127.0.0.1:${clientPort}`, { sessionTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    await client?.close().catch(() => {});
    await server?.close().catch(() => {});
    disk?.cleanup();
  });

  it("isDiskFull() knows LevelDB's report of a full disk and a plain ENOSPC, and nothing else", () => {
    expect(isDiskFull(Object.assign(new Error("IO error: /d/000003.log: No space left on device"), { code: "LEVEL_IO_ERROR" }))).toBe(true);
    expect(isDiskFull(Object.assign(new Error("write failed"), { code: "ENOSPC" }))).toBe(true);
    expect(isDiskFull(new Error("Database failed to open", { cause: new Error("IO error: x: No space left on device") }))).toBe(true);
    expect(isDiskFull(Object.assign(new Error("IO error: x: Input/output error"), { code: "LEVEL_IO_ERROR" }))).toBe(false);
  });

  it("refuses writes and serves reads while the disk is full, then recovers by itself when space is freed", { timeout: 60_000 }, async () => {
    for (let i = 0; i < 5; i++) await client.create(`/before-${i}`, `v${i}`);
    await vi.waitFor(() => expect((server.status().disk as { freeBytes: number | null }).freeBytes).not.toBeNull());
    const filler = fillDisk(disk.path);

    // The first write to hit the full disk is held, not lost: it completes after recovery. Its
    // session's later replies wait behind it (FIFO), so it gets a client of its own.
    const holder = await connect(`127.0.0.1:${clientPort}`, { sessionTimeoutMs: 30_000, requestTimeoutMs: 30_000 });
    const held = holder.create("/held", new Uint8Array(64 * 1024).fill(1));
    await vi.waitFor(() => expect(server.status().disk).toMatchObject({ alarm: "NOSPACE", noSpaceAlarm: 1 }), { timeout: 10_000 });
    expect((server.status().disk as { lastError: string }).lastError).toMatch(/No space left on device/);
    expect((server.status().disk as { lowSpace: number }).lowSpace).toBe(1);

    const refused = await client.create("/refused", "x").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeeperError);
    expect((refused as KeeperError).code).toBe(Code.NOTREADONLY);
    expect(decode((await client.getData("/before-3")).data)).toBe("v3");
    expect(await client.exists("/refused")).toBeNull();
    expect((server.status().counters as { refusedDiskFull: number }).refusedDiskFull).toBeGreaterThan(0);

    rmSync(filler);
    await vi.waitFor(() => expect(server.status().disk).toMatchObject({ alarm: null, noSpaceAlarm: 0, noSpaceAlarms: 1 }), { timeout: 15_000 });
    expect(await held).toBe("/held");
    await holder.close();
    await client.create("/after", "a");
    expect(decode((await client.getData("/after")).data)).toBe("a");

    // Everything acknowledged is on disk: a restart finds it.
    await client.close();
    await server.close();
    await start();
    client = await connect(`127.0.0.1:${clientPort}`, { sessionTimeoutMs: 10_000 });
    for (let i = 0; i < 5; i++) expect(decode((await client.getData(`/before-${i}`)).data)).toBe(`v${i}`);
    expect((await client.getData("/held")).data.length).toBe(64 * 1024);
    expect(decode((await client.getData("/after")).data)).toBe("a");
  });
});
