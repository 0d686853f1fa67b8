// The commands and flags added for operators: ls -R, tree, -o json, set/create from a file or
// standard input, create --acl, watch --follow [-R], whoami, members, --version, completion.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Perms } from "@keeper/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { parseArgv, tokenize } from "../src/args.ts";
import { CONNECT_OPTIONS, connectSettings, openClient } from "../src/connection.ts";
import { runCli, type CliDeps } from "../src/cli.ts";
import { findCommand, parseCommandArgs } from "../src/commands.ts";
import { ExitCode, reportError } from "../src/errors.ts";
import { membersOf } from "../src/members.ts";
import type { FetchJson } from "../src/status.ts";
import { FakeClient, seed } from "./fake-client.ts";
import { capture, type Captured } from "./helpers.ts";

async function run(client: FakeClient, line: string, ctx: Captured = capture()): Promise<{ code: number; ctx: Captured }> {
  const [name, ...rest] = tokenize(line);
  const spec = findCommand(name!)!;
  try {
    return { code: await spec.run(client, parseCommandArgs(spec, rest), ctx), ctx };
  } catch (err) {
    return { code: reportError(ctx, err), ctx };
  }
}

const dir = mkdtempSync(join(tmpdir(), "keeper-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ls -R and tree", () => {
  it("ls -R prints every descendant as a full path, parents first, sorted", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "", "/a/z": "", "/a/b": "", "/a/b/c": "", "/x": "" });
    const { code, ctx } = await run(client, "ls -R /a");
    expect(code).toBe(0);
    expect(ctx.stdout).toEqual(["/a/b", "/a/b/c", "/a/z"]);
    const asJson = await run(client, "ls -R / -o json");
    expect(JSON.parse(asJson.ctx.stdout.join(""))).toEqual(["/a", "/a/b", "/a/b/c", "/a/z", "/x"]);
  });

  it("ls -R refuses -w; tree draws the subtree and nests it in JSON", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "", "/a/b": "", "/a/b/c": "", "/a/d": "" });
    expect((await run(client, "ls -R -w /a")).code).toBe(ExitCode.USAGE);
    const drawn = await run(client, "tree /a");
    expect(drawn.ctx.stdout).toEqual(["/a", "├── b", "│   └── c", "└── d"]);
    const nested = JSON.parse((await run(client, "tree /a -o json")).ctx.stdout.join(""));
    expect(nested).toEqual({ name: "/a", path: "/a", children: [{ name: "b", path: "/a/b", children: [{ name: "c", path: "/a/b/c", children: [] }] }, { name: "d", path: "/a/d", children: [] }] });
  });
});

describe("-o json", () => {
  it("get gives text and exact bytes; stat and ls give the stat; getAcl gives entries", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "hello", "/a/c": "" });
    await client.setData("/a", new Uint8Array([0, 255]));
    const got = JSON.parse((await run(client, "get /a -o json")).ctx.stdout.join(""));
    expect(got).toMatchObject({ path: "/a", data: "0x00ff", dataBase64: "AP8=", stat: { version: 1, dataLength: 2, numChildren: 1 } });
    const stat = JSON.parse((await run(client, "stat /a -o json")).ctx.stdout.join(""));
    expect(stat.stat).toMatchObject({ version: 1, czxidHex: expect.stringMatching(/^0x/) });
    const ls = JSON.parse((await run(client, "ls /a -o json")).ctx.stdout.join(""));
    expect(ls).toMatchObject({ path: "/a", children: ["c"], stat: { numChildren: 1 } });
    const acl = JSON.parse((await run(client, "getAcl /a -o json")).ctx.stdout.join(""));
    expect(acl).toEqual([{ scheme: "world", id: "anyone", perms: "cdrwa" }]);
  });

  it("refuses an unknown format", async () => {
    const { code, ctx } = await run(new FakeClient(), "get / -o yaml");
    expect(code).toBe(ExitCode.USAGE);
    expect(ctx.stderr).toEqual(['keeper: --output: expected text or json, got "yaml"']);
  });
});

describe("data from a file or standard input", () => {
  it("set -f FILE stores the file's exact bytes; create -f too", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "old" });
    const file = join(dir, "blob.bin");
    writeFileSync(file, Buffer.from([1, 2, 3, 0, 10]));
    expect((await run(client, `set /a -f ${file}`)).code).toBe(0);
    expect([...client.nodes.get("/a")!.data]).toEqual([1, 2, 3, 0, 10]);
    expect((await run(client, `create /b --file ${file}`)).code).toBe(0);
    expect([...client.nodes.get("/b")!.data]).toEqual([1, 2, 3, 0, 10]);
  });

  it("set PATH - reads standard input in a one-shot command, and is refused in the shell", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "old" });
    const ctx = capture("oneshot", { readStdin: async () => new TextEncoder().encode("from stdin\n") });
    expect((await run(client, "set /a -", ctx)).code).toBe(0);
    expect(new TextDecoder().decode(client.nodes.get("/a")!.data)).toBe("from stdin\n");
    const inShell = await run(client, "set /a -", capture("shell"));
    expect(inShell.code).toBe(ExitCode.USAGE);
    expect(inShell.ctx.stderr[0]).toMatch(/standard input works in a one-shot command only/);
  });

  it("a missing file, DATA with --file, or no data at all are usage errors that name the cause", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const missing = await run(client, `set /a -f ${join(dir, "nope")}`);
    expect(missing.code).toBe(ExitCode.USAGE);
    expect(missing.ctx.stderr[0]).toContain("no such file");
    expect((await run(client, `set /a x -f ${join(dir, "nope")}`)).ctx.stderr[0]).toContain("give DATA or --file, not both");
    expect((await run(client, "set /a")).code).toBe(ExitCode.USAGE);
    expect(client.nodes.get("/a")!.stat.version).toBe(0);
  });
});

describe("create --acl", () => {
  it("passes the ACL to the server; a malformed one is refused before connecting", async () => {
    const client = new FakeClient();
    expect((await run(client, "create /a x --acl digest:bob:abc=:rw,world:anyone:r")).code).toBe(0);
    expect(client.createOptions[0]!.acl).toEqual([
      { scheme: "digest", id: "bob:abc=", perms: Perms.READ | Perms.WRITE },
      { scheme: "world", id: "anyone", perms: Perms.READ },
    ]);
    const bad = await run(client, "create /b --acl world:anyone:q");
    expect(bad.code).toBe(ExitCode.USAGE);
    expect(bad.ctx.stderr[0]).toContain("--acl");
    expect(client.nodes.has("/b")).toBe(false);
  });
});

describe("watch --follow", () => {
  it("prints every event on the path until interrupted (persistent watch)", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    let stop: () => void = () => {};
    const ctx = capture("oneshot", { interrupted: () => new Promise<void>((r) => (stop = r)) });
    const pending = run(client, "watch --follow /a", ctx);
    await new Promise((r) => setImmediate(r));
    await client.setData("/a", "1");
    await client.setData("/a", "2");
    await client.create("/a/child");
    await client.create("/a/child/deeper");
    stop();
    expect((await pending).code).toBe(0);
    expect(ctx.stdout).toEqual(["NodeDataChanged /a", "NodeDataChanged /a", "NodeChildrenChanged /a"]);
    expect(client.calls).toContain("addWatch /a");
  });

  it("-R follows the whole subtree, as JSON lines with -o json; -R without --follow is refused", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    let stop: () => void = () => {};
    const ctx = capture("oneshot", { interrupted: () => new Promise<void>((r) => (stop = r)) });
    const pending = run(client, "watch --follow -R /a -o json", ctx);
    await new Promise((r) => setImmediate(r));
    await client.create("/a/b");
    await client.setData("/a/b", "x");
    await client.delete("/a/b");
    stop();
    await pending;
    expect(ctx.stdout.map((l) => JSON.parse(l))).toEqual([
      { type: "NodeCreated", path: "/a/b" },
      { type: "NodeDataChanged", path: "/a/b" },
      { type: "NodeDeleted", path: "/a/b" },
    ]);
    expect((await run(client, "watch -R /a")).code).toBe(ExitCode.USAGE);
  });
});

describe("--auth", () => {
  it("takes USER:PW from the flag or $KEEPER_AUTH, and refuses anything else before connecting", () => {
    const parse = (argv: string[], env = {}) => connectSettings(parseArgv(argv, CONNECT_OPTIONS, true), env);
    expect(parse(["--auth", "bob:se:cret"]).auth).toBe("bob:se:cret");
    expect(parse([], { KEEPER_AUTH: "ann:pw" }).auth).toBe("ann:pw");
    expect(parse([]).auth).toBeUndefined();
    expect(() => parse(["--auth", "bob"])).toThrow(/--auth: expected USER:PASSWORD/);
    expect(() => parse(["--auth", ":pw"])).toThrow(/--auth/);
  });

  it("openClient adds the identity before the command runs; refused credentials are a usage error", async () => {
    const client = new FakeClient();
    const connected = await openClient(async () => client, { hosts: "h:1", timeoutMs: 1000, canBeReadOnly: false, auth: "bob:pw" });
    expect(await connected.whoAmI()).toEqual([{ authScheme: "ip", user: "127.0.0.1" }, { authScheme: "digest", user: "bob" }]);
    const refusing = new FakeClient();
    refusing.addAuth = async () => {
      throw new Error("AUTHFAILED");
    };
    await expect(openClient(async () => refusing, { hosts: "h:1", timeoutMs: 1000, canBeReadOnly: false, auth: "bob:pw" })).rejects.toThrow(/--auth: the server refused/);
    expect(refusing.closed).toBe(true);
  });
});

describe("whoami", () => {
  it("prints each identity, as text or JSON", async () => {
    const client = new FakeClient();
    client.identities = [{ authScheme: "ip", user: "10.0.0.7" }, { authScheme: "digest", user: "bob" }];
    expect((await run(client, "whoami")).ctx.stdout).toEqual(["ip 10.0.0.7", "digest bob"]);
    expect(JSON.parse((await run(client, "whoami -o json")).ctx.stdout.join(""))).toEqual([{ scheme: "ip", user: "10.0.0.7" }, { scheme: "digest", user: "bob" }]);
  });
});

function cliDeps(ctx: Captured, fetchJson?: FetchJson): CliDeps {
  return {
    env: {},
    context: ctx,
    loadConnect: async () => {
      throw new Error("no connection expected");
    },
    server: { loadServer: async () => ({}) as never, readFile: () => "", signals: process },
    stdin: process.stdin,
    stdout: process.stdout,
    ...(fetchJson ? { fetchJson } : {}),
  };
}

describe("members", () => {
  const peers = [
    { id: 1, address: "10.0.0.1:2888", self: true, connected: true },
    { id: 2, address: "10.0.0.2:2888", self: false, connected: true },
    { id: 3, address: "10.0.0.3:2888", self: false, connected: false },
  ];
  const statuses: Record<string, unknown> = {
    "http://h1:8181/status": { serverId: 1, state: "following", serving: true, leader: 2, peers },
    "http://h2:8181/status": { serverId: 2, state: "leading", serving: true, leader: 2, peers },
  };
  const fetchJson: FetchJson = async (url) => {
    if (url in statuses) return statuses[url];
    throw new Error("connection refused");
  };

  it("lists every member from the first node that answers, states from the members asked", async () => {
    const ctx = capture();
    expect(await runCli(["members", "--connect", "h3:8181,h1:8181,h2:8181"], cliDeps(ctx, fetchJson))).toBe(0);
    expect(ctx.stdout[0]).toMatch(/^ID\s+PEER ADDRESS\s+STATE\s+LEADER\s+CLIENT ADDRESS$/);
    expect(ctx.stdout.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ["1", "10.0.0.1:2888", "following", "h1:8181"],
      ["2", "10.0.0.2:2888", "leading", "*", "h2:8181"],
      ["3", "10.0.0.3:2888", "unknown", "-"],
    ]);
  });

  it("-o json gives the same as an array; no node answering exits 1", async () => {
    const ctx = capture();
    expect(await runCli(["members", "--connect", "h1:8181,h2:8181", "-o", "json"], cliDeps(ctx, fetchJson))).toBe(0);
    expect(JSON.parse(ctx.stdout.join(""))).toEqual(membersOf([{ address: "h1:8181", status: statuses["http://h1:8181/status"] as never }, { address: "h2:8181", status: statuses["http://h2:8181/status"] as never }]));
    const none = capture();
    expect(await runCli(["members", "--connect", "h9:8181"], cliDeps(none, fetchJson))).toBe(ExitCode.FAILED);
    expect(none.stderr).toEqual(["keeper members: h9:8181: connection refused"]);
  });
});

describe("--version and completion", () => {
  it("--version prints @keeper/cli's version", async () => {
    const ctx = capture();
    expect(await runCli(["--version"], cliDeps(ctx))).toBe(0);
    expect(ctx.stdout).toEqual([`keeper ${(await import("../package.json", { with: { type: "json" } })).default.version}`]);
  });

  it("the bash script completes command names and a command's flags when bash runs it", async () => {
    const ctx = capture();
    expect(await runCli(["completion", "bash"], cliDeps(ctx))).toBe(0);
    const script = join(dir, "keeper.bash");
    writeFileSync(script, ctx.stdout.join("\n"));
    const complete = (words: string[]) =>
      execFileSync("bash", ["-c", `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _keeper; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l !== "");
    expect(complete(["keeper", "wh"])).toEqual(["whoami"]);
    expect(complete(["keeper", "me"])).toEqual(["members"]);
    expect(complete(["keeper", "ls", "--rec"])).toEqual(["--recursive"]);
    expect(complete(["keeper", "watch", "--fo"])).toEqual(["--follow"]);
  });

  it("the zsh script names every command; an unknown shell is a usage error", async () => {
    const ctx = capture();
    expect(await runCli(["completion", "zsh"], cliDeps(ctx))).toBe(0);
    expect(ctx.stdout[0]).toBe("#compdef keeper");
    expect(ctx.stdout.join("\n")).toMatch(/compadd -- server ensemble status members shell backup restore completion export import copy ls get set create/);
    const bad = capture();
    expect(await runCli(["completion", "fish"], cliDeps(bad))).toBe(ExitCode.USAGE);
  });
});
