// The `keeper` command against a real server: the "done when" list, run as separate
// processes exactly as a user would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeeperClient } from "@keeper/client";
import { freePort } from "../support/processes.ts";
import { Harness, HOST, text, waitFor, type CliResult, type ServerNode } from "../support/harness.ts";

describe("keeper CLI (e2e)", () => {
  const h = new Harness();
  let server: ServerNode;
  let client: KeeperClient;
  let connectArgs: string[];

  const keeper = (...args: string[]): Promise<CliResult> => h.cli([...args, ...connectArgs]).done;
  const lines = (out: string): string[] => out.split("\n").filter((l) => l !== "");

  beforeAll(async () => {
    server = await h.startServer();
    connectArgs = ["--connect", server.connectString];
    client = await h.connect(server);
  });
  afterAll(() => h.cleanup());

  it("create then get prints the data", async () => {
    const created = await keeper("create", "/a", "hello");
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toBe("/a");
    const got = await keeper("get", "/a");
    expect(got.code).toBe(0);
    expect(got.stdout).toBe("hello\n");
    expect(text((await client.getData("/a")).data)).toBe("hello");
  });

  it("an ephemeral made by a one-shot create is gone once the command exits", async () => {
    const created = await keeper("create", "-e", "/eph", "x");
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toBe("/eph");
    // The command closed its session on the way out: nothing to wait for.
    expect(await client.exists("/eph")).toBeNull();
    const ls = await keeper("ls", "/");
    expect(ls.code).toBe(0);
    expect(lines(ls.stdout)).not.toContain("eph");
    expect(lines(ls.stdout)).toContain("zookeeper");
  });

  it("`keeper watch /w` in the background exits 0 printing the event once `keeper set /w v2` runs", async () => {
    await client.create("/w", "v1");
    const watchesBefore = (await server.status()).watches.watches as number;
    const watcher = h.cli(["watch", "/w", "--timeout", "20", ...connectArgs]);
    // The watch is armed once the server holds one more watch.
    await waitFor(async () => (await server.status()).watches.watches > watchesBefore, { timeoutMs: 15_000, what: "keeper watch to arm its watch" });
    const set = await keeper("set", "/w", "v2");
    expect(set.code).toBe(0);
    const result = await watcher.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("NodeDataChanged /w\n");
    expect(text((await client.getData("/w")).data)).toBe("v2");
  });

  it("stat prints the Stat; delete removes the node", async () => {
    await client.create("/s", "12345");
    await client.create("/s/kid");
    const stat = await keeper("stat", "/s");
    expect(stat.code).toBe(0);
    const fields = Object.fromEntries(lines(stat.stdout).map((l) => l.split(" = ") as [string, string]));
    const real = (await client.exists("/s"))!;
    expect(fields).toMatchObject({
      cZxid: `0x${real.czxid.toString(16)}`,
      mZxid: `0x${real.mzxid.toString(16)}`,
      pZxid: `0x${real.pzxid.toString(16)}`,
      cversion: "1",
      dataVersion: "0",
      aclVersion: "0",
      ephemeralOwner: "0x0",
      dataLength: "5",
      numChildren: "1",
    });
    expect(Object.keys(fields)).toEqual(["cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion", "dataVersion", "aclVersion", "ephemeralOwner", "dataLength", "numChildren"]);

    const [notEmpty, badVersion] = await Promise.all([keeper("delete", "/s"), keeper("delete", "/s/kid", "-v", "7")]);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toMatch(/NOTEMPTY/);
    expect(badVersion.code).toBe(1);
    expect(badVersion.stderr).toMatch(/BADVERSION/);
    const del = await keeper("delete", "/s/kid", "-v", "0");
    expect(del.code).toBe(0);
    expect(await client.exists("/s/kid")).toBeNull();
    expect((await keeper("delete", "/s")).code).toBe(0);
    expect(await client.exists("/s")).toBeNull();
  });

  it("exit codes: 1 for a service error, 3 without a server, 2 for usage", async () => {
    const deadPort = await freePort(HOST);
    const [noNode, noNodeStat, noServer, noPath, unknown, badPath, badVersion] = await Promise.all([
      keeper("get", "/missing"),
      keeper("stat", "/missing"),
      h.cli(["get", "/a", "--connect", `${HOST}:${deadPort}`, "--timeout-ms", "1000"]).done,
      keeper("get"),
      keeper("frobnicate", "/a"),
      keeper("get", "no-slash"),
      keeper("set", "/a", "x", "-v", "not-a-number"),
    ]);
    expect(noNode.code).toBe(1);
    expect(noNode.stderr).toMatch(/NONODE/);
    expect(noNode.stdout).toBe("");
    expect(noNodeStat.code).toBe(1);
    expect(noServer.code).toBe(3);
    expect(noPath.code).toBe(2);
    expect(unknown.code).toBe(2);
    expect(badPath.code).toBe(2);
    expect(badVersion.code).toBe(2);
  });
});
