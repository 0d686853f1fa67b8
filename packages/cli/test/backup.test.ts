// keeper backup / restore: what they refuse before touching anything, and what a failed
// backup leaves behind (nothing). The full round trip through two ensembles is in
// test/ensemble/backup-restore.test.ts.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBackup, runRestore } from "../src/backup.ts";
import { ExitCode } from "../src/errors.ts";
import { capture } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "keeper-backup-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keeper backup", () => {
  it("refuses to overwrite a file and needs exactly one FILE", async () => {
    const existing = join(dir, "exists.kbak");
    writeFileSync(existing, "keep me");
    const io = capture();
    expect(await runBackup([existing, "--connect", "127.0.0.1:1"], {}, io)).toBe(ExitCode.USAGE);
    expect(io.stderr[0]).toMatch(/exists already/);
    expect(await runBackup([], {}, capture())).toBe(ExitCode.USAGE);
  });

  it("a node that sends a cut-short or foreign stream fails the backup and leaves no file", async () => {
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(req.url === "/backup" ? "KEEPERBK\u0000\u0000\u0000\u0001" : "");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const file = join(dir, "short.kbak");
    const io = capture();
    try {
      expect(await runBackup([file, "--connect", `127.0.0.1:${port}`], {}, io)).toBe(ExitCode.FAILED);
    } finally {
      server.close();
    }
    expect(io.stderr.join("\n")).toMatch(/truncated/);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });
});

describe("keeper restore", () => {
  it("needs --data-dir, a valid --server-id and an existing file", async () => {
    const file = join(dir, "any.kbak");
    writeFileSync(file, "x");
    const noDir = capture();
    expect(await runRestore([file], {}, noDir)).toBe(ExitCode.USAGE);
    expect(noDir.stderr[0]).toMatch(/--data-dir DIR is required/);
    expect(await runRestore([file, "--data-dir", dir, "--server-id", "0"], {}, capture())).toBe(ExitCode.USAGE);
    const missing = capture();
    expect(await runRestore([join(dir, "nope.kbak"), "--data-dir", dir], {}, missing)).toBe(ExitCode.USAGE);
    expect(missing.stderr[0]).toMatch(/is not a file/);
  });

  it("a file that is not a backup fails and creates no store directory", async () => {
    const file = join(dir, "foreign.kbak");
    writeFileSync(file, "this is not a backup at all");
    const target = join(dir, "data");
    const io = capture();
    expect(await runRestore([file, "--data-dir", target, "--server-id", "2"], {}, io)).toBe(ExitCode.FAILED);
    expect(io.stderr[0]).toMatch(/not a Keeper backup/);
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
  });
});
