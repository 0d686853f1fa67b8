// ZooKeeper's own command-line clients, from Debian's zookeeper 3.8.0 packages, against a 3-node
// Keeper ensemble: zkCli.sh (the Java client; package zookeeper) and cli_mt (the C client;
// package zookeeper-bin), one-shot commands, outputs asserted as ZooKeeper prints them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEnsemble, type Ensemble } from "../support/ensemble.ts";
import { CLI_MT, ZKCLI, connectString, killAll, requireFile, run, zkPorts } from "../support/zk-tools.ts";

describe("zkCli.sh and cli_mt against a 3-node Keeper ensemble", () => {
  let e: Ensemble;
  let hosts: string;

  beforeAll(async () => {
    requireFile(ZKCLI, "zookeeper");
    requireFile(CLI_MT, "zookeeper-bin");
    e = await startEnsemble({ size: 3 });
    // The commands talk to one node: wait until every node serves, not just a quorum.
    await e.waitConverged();
    hosts = connectString(await zkPorts(e));
  }, 60_000);

  afterAll(async () => {
    killAll();
    await e?.cleanup();
  });

  /** zkCli.sh -server HOSTS cmd...; its output without the connection chatter. */
  async function zkCli(...cmd: string[]): Promise<{ code: number | null; out: string }> {
    // One server for every command, as for cli_mt below: each command is a new session.
    const r = await run(ZKCLI, ["-server", hosts.split(",")[0]!, ...cmd], { timeoutMs: 30_000 });
    const out = (r.stdout + r.stderr)
      .split("\n")
      .filter((l) => l !== "" && !/^(SLF4J|WATCHER::|WatchedEvent state:SyncConnected type:None|Connecting to )/.test(l))
      .join("\n");
    return { code: r.code, out };
  }

  function statFields(out: string): Record<string, string> {
    return Object.fromEntries(
      out
        .split("\n")
        .map((l) => /^(\w+) = (.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
  }

  describe("zkCli.sh (Java client 3.8.0)", () => {
    it("create, ls, get, set, stat, delete", async () => {
      expect(await zkCli("create", "/zkcli", "hello")).toEqual({ code: 0, out: "Created /zkcli" });
      expect(await zkCli("create", "/zkcli", "again")).toEqual({ code: 1, out: "Node already exists: /zkcli" });
      const ls = await zkCli("ls", "/");
      expect(ls.code).toBe(0);
      const rootChildren = ls.out.match(/^\[(.*)\]$/m)![1]!.split(", ");
      expect(rootChildren).toEqual(expect.arrayContaining(["zkcli", "zookeeper"]));
      expect(await zkCli("get", "/zkcli")).toEqual({ code: 0, out: "hello" });

      const st0 = statFields((await zkCli("stat", "/zkcli")).out);
      expect(st0).toMatchObject({ dataVersion: "0", cversion: "0", aclVersion: "0", ephemeralOwner: "0x0", dataLength: "5", numChildren: "0" });
      expect(st0.cZxid).toMatch(/^0x[0-9a-f]+$/);
      expect(st0.mZxid).toBe(st0.cZxid);

      expect(await zkCli("set", "/zkcli", "world!")).toEqual({ code: 0, out: "" });
      expect(await zkCli("get", "/zkcli")).toEqual({ code: 0, out: "world!" });
      expect(await zkCli("set", "-v", "0", "/zkcli", "stale")).toEqual({ code: 1, out: "version No is not valid : /zkcli" });
      const getS = await zkCli("get", "-s", "/zkcli");
      expect(getS.out.split("\n")[0]).toBe("world!");
      const st1 = statFields(getS.out);
      expect(st1).toMatchObject({ dataVersion: "1", dataLength: "6", cZxid: st0.cZxid });
      expect(BigInt(st1.mZxid!)).toBeGreaterThan(BigInt(st0.mZxid!));

      expect(await zkCli("create", "-s", "/zkcli/seq-", "a")).toEqual({ code: 0, out: "Created /zkcli/seq-0000000000" });
      expect(await zkCli("create", "-s", "/zkcli/seq-", "b")).toEqual({ code: 0, out: "Created /zkcli/seq-0000000001" });
      expect(await zkCli("create", "/zkcli/child", "c")).toEqual({ code: 0, out: "Created /zkcli/child" });
      const lsS = await zkCli("ls", "-s", "/zkcli");
      expect(lsS.out.split("\n")[0]).toBe("[child, seq-0000000000, seq-0000000001]");
      expect(statFields(lsS.out)).toMatchObject({ numChildren: "3", cversion: "3", dataVersion: "1" });
      expect(await zkCli("getAllChildrenNumber", "/zkcli")).toEqual({ code: 0, out: "3" });

      expect(await zkCli("delete", "/zkcli")).toEqual({ code: 1, out: "Node not empty: /zkcli" });
      expect(await zkCli("delete", "-v", "7", "/zkcli/child")).toEqual({ code: 1, out: "version No is not valid : /zkcli/child" });
      expect(await zkCli("delete", "-v", "0", "/zkcli/child")).toEqual({ code: 0, out: "" });
      expect(await zkCli("deleteall", "/zkcli")).toEqual({ code: 0, out: "" });
      expect(await zkCli("stat", "/zkcli")).toEqual({ code: 1, out: "Node does not exist: /zkcli" });
      expect(await zkCli("get", "/zkcli")).toEqual({ code: 1, out: "Node does not exist: /zkcli" });
    }, 90_000);

    it("ephemeral nodes and whoami", async () => {
      // One-shot zkCli exits without closing its session: the ephemeral outlives the command
      // until the session times out (30 s), as on ZooKeeper.
      expect(await zkCli("create", "-e", "/zkcli-eph", "e")).toEqual({ code: 0, out: "Created /zkcli-eph" });
      const st = statFields((await zkCli("stat", "/zkcli-eph")).out);
      expect(st.ephemeralOwner).toMatch(/^0x[0-9a-f]+$/);
      expect(st.ephemeralOwner).not.toBe("0x0");
      expect(await zkCli("whoami")).toEqual({ code: 0, out: "Auth scheme: User\nip: 127.0.0.1" });
    }, 30_000);

    it("containers and TTL nodes are created (create -c, create -t)", async () => {
      expect(await zkCli("create", "-c", "/zkcli-container", "x")).toEqual({ code: 0, out: "Created /zkcli-container" });
      expect(await zkCli("create", "-t", "100000", "/zkcli-ttl", "x")).toEqual({ code: 0, out: "Created /zkcli-ttl" });
      expect(await zkCli("get", "/zkcli-ttl")).toEqual({ code: 0, out: "x" });
    }, 30_000);

    // Apache ZooKeeper 3.8.0 (its DataTree.copyStat) reports 0 for any owner that is not a
    // session; Keeper once showed its internal container/TTL encoding here.
    it("stat of a container or TTL node reports ephemeralOwner 0x0, as ZooKeeper does", async () => {
      const c = statFields((await zkCli("stat", "/zkcli-container")).out);
      const t = statFields((await zkCli("stat", "/zkcli-ttl")).out);
      expect({ container: c.ephemeralOwner, ttl: t.ephemeralOwner }).toEqual({ container: "0x0", ttl: "0x0" });
    }, 30_000);
  });

  describe("cli_mt (C client 3.8.0)", () => {
    async function cliMt(cmd: string): Promise<string> {
      // One server for every command: each is a new session, and only a session that stays
      // on one server is sure to read what the previous command wrote.
      const r = await run(CLI_MT, ["-h", hosts.split(",")[0]!, "-c", cmd], { timeoutMs: 20_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r.stdout + r.stderr;
    }

    it("create, create2, set, get, ls, ls2, sync, delete", async () => {
      const created = await cliMt("create /climt");
      expect(created).toContain("Watcher SESSION_EVENT state = CONNECTED_STATE");
      expect(created).toMatch(/\[\/climt\]: rc = 0\n\tname = \/climt/);
      expect(await cliMt("create2 /climt2")).toMatch(/\[\/climt2\]: rc = 0\n\tname = \/climt2\n\tctime = .*\n\tczxid=[0-9a-f]+\n\tmtime=.*\n\tmzxid=[0-9a-f]+\n\tversion=0\taversion=0\n\tephemeralOwner = 0/);
      expect(await cliMt("set /climt hello")).toMatch(/\/climt: rc = 0 Stat:[\s\S]*version=1\taversion=0/);
      expect(await cliMt("get /climt")).toMatch(/\/climt: rc = 0\n value_len = 5\nhello\nStat:[\s\S]*version=1/);
      expect(await cliMt("create +s /climt/s-")).toMatch(/rc = 0\n\tname = \/climt\/s-0000000000/);
      expect(await cliMt("create +e /climt/e")).toMatch(/rc = 0\n\tname = \/climt\/e/);
      // cli_mt closes its session when it quits: its ephemeral is gone already.
      expect(await cliMt("ls /climt")).toMatch(/\/climt: rc = 0\n\ts-0000000000\n/);
      expect(await cliMt("ls2 /climt")).toMatch(/\/climt: rc = 0\n\ts-0000000000\n[\s\S]*version=1\taversion=0/);
      expect(await cliMt("sync /climt")).toMatch(/\[\/climt\]: rc = 0/);
      expect(await cliMt("delete /climt")).toMatch(/\/climt: rc = -111/); // ZNOTEMPTY
      expect(await cliMt("delete /climt/s-0000000000")).toMatch(/\/climt\/s-0000000000: rc = 0/);
      expect(await cliMt("delete /climt")).toMatch(/\/climt: rc = 0/);
      expect(await cliMt("get /climt")).toMatch(/\/climt: rc = -101/); // ZNONODE
    }, 90_000);
  });
});
