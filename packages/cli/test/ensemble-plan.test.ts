import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { notReady, runEnsemble, ensembleEnv, type EnsembleDeps } from "../src/ensemble.ts";
import { ENSEMBLE_DEFAULTS, dialHost, ensembleHelp, parseEnsembleArgs, peerList, planEnsemble, type EnsembleOptions } from "../src/ensemble-plan.ts";
import { UsageError } from "../src/errors.ts";
import type { StatusResult } from "../src/status.ts";
import { capture } from "./helpers.ts";

function options(argv: string[]): EnsembleOptions {
  const inv = parseEnsembleArgs(argv);
  if (inv.help) throw new Error("unexpected help");
  return inv.options;
}

describe("parseEnsembleArgs()", () => {
  it("defaults to 3 nodes on the DESIGN.md ports, ./data, 127.0.0.1 and warn", () => {
    expect(options([])).toEqual({ nodes: 3, dataDir: "./data", host: "127.0.0.1", logLevel: "warn", baseClientPort: 8181, basePeerPort: 2888, baseZkPort: 2181 });
    expect(ENSEMBLE_DEFAULTS.baseClientPort).toBe(8181);
  });

  it("takes every flag", () => {
    const argv = ["--nodes", "5", "--data-dir", "/tmp/x", "--host", "0.0.0.0", "--log-level", "info", "--base-client-port", "20000", "--base-peer-port", "21000", "--base-zk-port", "22000"];
    expect(options(argv)).toEqual({ nodes: 5, dataDir: "/tmp/x", host: "0.0.0.0", logLevel: "info", baseClientPort: 20000, basePeerPort: 21000, baseZkPort: 22000 });
    expect(options(["-n", "1"]).nodes).toBe(1);
  });

  it("returns help for --help and -h", () => {
    expect(parseEnsembleArgs(["--help"])).toEqual({ help: true });
    expect(parseEnsembleArgs(["-h"])).toEqual({ help: true });
  });

  it.each([
    [["--nodes", "0"], /--nodes: must be 1\.\.7/],
    [["--nodes", "8"], /--nodes: must be 1\.\.7/],
    [["--nodes", "three"], /--nodes: expected an integer/],
    [["--nodes", "3.5"], /--nodes: expected an integer/],
    [["--log-level", "loud"], /--log-level: must be one of/],
    [["--data-dir", ""], /--data-dir: must not be empty/],
    [["--base-client-port", "65534"], /--base-client-port: ports 65534\.\.65536/],
    [["--base-peer-port", "0"], /--base-peer-port/],
    [["--base-client-port", "3000", "--base-peer-port", "3002"], /overlap/],
    [["--frobnicate"], /unknown option --frobnicate/],
    [["extra"], /unexpected argument "extra"/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseEnsembleArgs(argv)).toThrow(UsageError);
    expect(() => parseEnsembleArgs(argv)).toThrow(message);
  });
});

describe("planEnsemble()", () => {
  it("gives node i client port base+i-1, peer port base+i-1 and the same peer list", () => {
    const plan = planEnsemble(options([]), "/home/u");
    expect(plan.peers).toBe("1=127.0.0.1:2888,2=127.0.0.1:2889,3=127.0.0.1:2890");
    expect(plan.connectString).toBe("127.0.0.1:8181,127.0.0.1:8182,127.0.0.1:8183");
    expect(plan.zkConnectString).toBe("127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183");
    expect(plan.nodes.map((n) => [n.id, n.clientPort, n.peerPort])).toEqual([
      [1, 8181, 2888],
      [2, 8182, 2889],
      [3, 8183, 2890],
    ]);
    expect(plan.nodes[1]!.args).toEqual([
      "server", "--server-id", "2", "--data-dir", "/home/u/data", "--host", "127.0.0.1", "--client-port", "8182", "--zk-port=2182",
      "--peers", plan.peers, "--peer-host", "127.0.0.1", "--peer-port", "2889", "--log-level", "warn",
    ]);
    expect(plan.warnings).toEqual([]);
  });

  it("uses the overridden bases and an absolute data dir as given", () => {
    const plan = planEnsemble(options(["--nodes", "5", "--base-client-port", "30000", "--base-peer-port", "31000", "--data-dir", "/srv/k"]), "/ignored");
    expect(plan.nodes.map((n) => n.clientPort)).toEqual([30000, 30001, 30002, 30003, 30004]);
    expect(plan.peers.split(",")).toHaveLength(5);
    expect(plan.peers.split(",")[4]).toBe("5=127.0.0.1:31004");
    expect(plan.nodes.every((n) => n.dataDir === "/srv/k")).toBe(true);
  });

  it("warns about an even size but plans it", () => {
    const plan = planEnsemble(options(["--nodes", "4"]), "/");
    expect(plan.nodes).toHaveLength(4);
    expect(plan.warnings).toEqual(["warning: 4 nodes need a quorum of 3 and tolerate 1 failure, no more than 3 would; use an odd size"]);
    expect(planEnsemble(options(["--nodes", "2"]), "/").warnings[0]).toMatch(/2 nodes need a quorum of 2 and tolerate 0 failures/);
  });

  it("hands --super-digest to every node", () => {
    const plan = planEnsemble(options(["--super-digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU="]), "/");
    for (const n of plan.nodes) expect(n.args.join(" ")).toContain("--super-digest super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    expect(planEnsemble(options([]), "/").nodes[0]!.args).not.toContain("--super-digest");
  });

  it("ensembleEnv() gives an ensemble a fresh random secret unless the caller gave credentials, and every four-letter word", () => {
    expect(ensembleEnv({}, 3).KEEPER_FOUR_LETTER_WORDS).toBe("*");
    expect(ensembleEnv({ KEEPER_FOUR_LETTER_WORDS: "srvr" }, 3).KEEPER_FOUR_LETTER_WORDS).toBe("srvr");
    const a = ensembleEnv({ PATH: "/bin" }, 3);
    const b = ensembleEnv({ PATH: "/bin" }, 3);
    expect(a.KEEPER_PEER_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.KEEPER_PEER_SECRET).not.toBe(b.KEEPER_PEER_SECRET);
    expect(a.PATH).toBe("/bin");
    expect(ensembleEnv({ KEEPER_PEER_SECRET: "given-by-the-user-1" }, 3).KEEPER_PEER_SECRET).toBe("given-by-the-user-1");
    expect(ensembleEnv({ KEEPER_PEER_SECRET_FILE: "/s" }, 3).KEEPER_PEER_SECRET).toBeUndefined();
    // The members' dashboard pages are allowed origins, with any the caller gave; "*" stays "*".
    const pages = ["http://127.0.0.1:8181", "http://localhost:8181"];
    expect(ensembleEnv({}, 3, pages).KEEPER_ALLOWED_ORIGINS).toBe(pages.join(","));
    expect(ensembleEnv({ KEEPER_ALLOWED_ORIGINS: "https://app.example" }, 3, pages).KEEPER_ALLOWED_ORIGINS).toBe(`https://app.example,${pages.join(",")}`);
    expect(ensembleEnv({ KEEPER_ALLOWED_ORIGINS: "*" }, 3, pages).KEEPER_ALLOWED_ORIGINS).toBe("*");
    expect(ensembleEnv({}, 1).KEEPER_PEER_SECRET).toBeUndefined();
  });

  it("runs a single node standalone, without peers", () => {
    const plan = planEnsemble(options(["--nodes", "1"]), "/w");
    expect(plan.peers).toBe("");
    expect(plan.nodes[0]!.args).not.toContain("--peers");
    expect(plan.connectString).toBe("127.0.0.1:8181");
  });

  it("dials a wildcard bind on loopback", () => {
    expect(dialHost("0.0.0.0")).toBe("127.0.0.1");
    expect(dialHost("::")).toBe("[::1]");
    expect(dialHost("::1")).toBe("[::1]");
    expect(dialHost("10.0.0.5")).toBe("10.0.0.5");
    expect(peerList(2, "0.0.0.0", 4000)).toBe("1=127.0.0.1:4000,2=127.0.0.1:4001");
    expect(planEnsemble(options(["--host", "0.0.0.0"]), "/").connectString).toBe("127.0.0.1:8181,127.0.0.1:8182,127.0.0.1:8183");
  });

  it("documents the ports, the wire protocol to come and the exit codes", () => {
    const help = ensembleHelp();
    expect(help).toMatch(/^usage: keeper ensemble/);
    expect(help).toMatch(/8180\+i/);
    expect(help).toMatch(/2887\+i/);
    expect(help).toMatch(/2180\+i/);
    expect(help).toMatch(/Exit codes: 0/);
  });
});

describe("notReady()", () => {
  const plan = planEnsemble(options([]), "/");
  const ok = (id: number, state: string, serving = true): StatusResult => ({ address: `127.0.0.1:${8180 + id}`, status: { serverId: id, state, serving } });

  it("is undefined once every node answers, serves, and one leads", () => {
    expect(notReady(plan, [ok(1, "following"), ok(2, "leading"), ok(3, "following")])).toBeUndefined();
  });

  it("names the nodes that did not answer or do not serve, and a missing leader", () => {
    const problems = notReady(plan, [ok(1, "looking", false), { address: "127.0.0.1:8182", error: "connect ECONNREFUSED" }, ok(3, "following")]);
    expect(problems).toEqual([
      "node 1 (127.0.0.1:8181) is looking and not serving",
      "node 2 (127.0.0.1:8182) did not answer /status: connect ECONNREFUSED",
      "no leader is serving",
    ]);
  });
});

describe("runEnsemble()", () => {
  const deps = (): EnsembleDeps => ({
    signals: new EventEmitter() as unknown as EnsembleDeps["signals"],
    cwd: "/nonexistent",
    env: {},
    // Never reached in these tests; a command that cannot start would fail loudly.
    spawnCommand: { command: "/nonexistent/keeper", args: [] },
  });

  it("exits 2 with the reason for a bad flag, and 0 with the help page", async () => {
    const io = capture();
    expect(await runEnsemble(["--nodes", "9"], deps(), io)).toBe(2);
    expect(io.stderr).toEqual(["keeper ensemble: --nodes: must be 1..7 (3 or 5 recommended), got 9"]);
    const help = capture();
    expect(await runEnsemble(["--help"], deps(), help)).toBe(0);
    expect(help.stdout[0]).toMatch(/^usage: keeper ensemble/);
  });

  it("refuses to start when a port is taken, naming it, before spawning anything", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const io = capture();
      const code = await runEnsemble(["--nodes", "1", "--base-client-port", String(port), "--base-peer-port", String(port === 65535 ? 1 : port + 1)], deps(), io);
      expect(code).toBe(1);
      expect(io.stderr.join("\n")).toContain(`127.0.0.1:${port} (node 1 client port): already in use`);
      expect(io.stderr.join("\n")).not.toMatch(/Starting/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
