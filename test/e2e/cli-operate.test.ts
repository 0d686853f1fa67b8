// The operator's CLI against a real server process: persistent and recursive watches streamed
// by `keeper watch --follow -R`, `whoami`, `tree`, `ls -R -o json` and data from standard input.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventType, type KeeperClient, type WatchEvent } from "@keeper/client";
import { Harness, socketControl, text, waitFor, type CliResult, type ServerNode } from "../support/harness.ts";
import { REPO_ROOT } from "../support/processes.ts";

const CLI_MAIN = "packages/cli/src/main.ts";

describe("keeper CLI for operators (e2e)", () => {
  const h = new Harness();
  let server: ServerNode;
  let client: KeeperClient;
  let connectArgs: string[];
  const keeper = (...args: string[]): Promise<CliResult> => h.cli([...args, ...connectArgs]).done;

  beforeAll(async () => {
    server = await h.startServer();
    connectArgs = ["--connect", server.connectString];
    client = await h.connect(server);
  });
  afterAll(() => h.cleanup());

  it("client.addWatch(recursive) sees creations, changes and deletions below, and stays armed", async () => {
    await client.create("/pw", "");
    const seen: string[] = [];
    const name = (t: number) => Object.entries(EventType).find(([, v]) => v === t)![0];
    await client.addWatch("/pw", (e: WatchEvent) => seen.push(`${name(e.type)} ${e.path}`), { recursive: true });
    const other = await h.connect(server);
    await other.create("/pw/a", "1");
    await other.create("/pw/a/b", "2");
    await other.setData("/pw/a/b", "3");
    await other.delete("/pw/a/b");
    await other.create("/elsewhere", "");
    await waitFor(() => seen.length >= 4, { what: "four recursive events" });
    await client.sync("/");
    expect(seen).toEqual(["NodeCreated /pw/a", "NodeCreated /pw/a/b", "NodeDataChanged /pw/a/b", "NodeDeleted /pw/a/b"]);
  });

  it("`keeper watch --follow -R` streams events as JSON lines until SIGINT, then exits 0", async () => {
    await client.create("/follow", "");
    const watchesBefore = (await server.status()).watches.watches as number;
    let streamed = "";
    const run = h.cli(["watch", "--follow", "-R", "/follow", "-o", "json", ...connectArgs], { timeoutMs: 30_000, onStdout: (c) => (streamed += c) });
    await waitFor(async () => (await server.status()).watches.watches > watchesBefore, { timeoutMs: 20_000, what: "the persistent watch to be armed" });
    await client.create("/follow/x", "1");
    await client.setData("/follow/x", "2");
    await client.create("/follow/x/y", "");
    // Each event is printed as it comes, before the command ends.
    await waitFor(() => streamed.split("\n").length > 3, { timeoutMs: 10_000, what: "three streamed events" });
    run.child.kill("SIGINT");
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n").map((l) => JSON.parse(l))).toEqual([
      { type: "NodeCreated", path: "/follow/x" },
      { type: "NodeDataChanged", path: "/follow/x" },
      { type: "NodeCreated", path: "/follow/x/y" },
    ]);
  });

  it("whoami names the client's address; tree and ls -R walk the subtree", async () => {
    const who = await keeper("whoami", "-o", "json");
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toEqual([{ scheme: "ip", user: "127.0.0.1" }]);
    await client.create("/t", "");
    await client.create("/t/b", "");
    await client.create("/t/a", "");
    await client.create("/t/a/c", "");
    const tree = await keeper("tree", "/t");
    expect(tree.stdout).toBe("/t\n├── a\n│   └── c\n└── b\n");
    const ls = await keeper("ls", "-R", "/t", "-o", "json");
    expect(JSON.parse(ls.stdout)).toEqual(["/t/a", "/t/a/c", "/t/b"]);
  });

  it("--auth USER:PW authenticates the session: a digest-protected node reads only with it", async () => {
    const hash = createHash("sha1").update("bob:secret").digest("base64");
    const created = await keeper("create", "/private", "for bob", "--acl", `digest:bob:${hash}:cdrwa`);
    expect(created.code).toBe(0);
    const denied = await keeper("get", "/private");
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/NOAUTH/);
    const allowed = await keeper("get", "/private", "--auth", "bob:secret");
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toBe("for bob\n");
    const who = await keeper("whoami", "--auth", "bob:secret");
    // In ZooKeeper's order (a Java HashSet's), which is not the order they were added.
    expect(who.stdout.trim().split("\n").sort()).toEqual(["digest bob", "ip 127.0.0.1"]);
    // The client keeps the identity across a reconnect (it is replayed on the new connection).
    const sockets = socketControl();
    const c = await h.connect(server, { WebSocket: sockets.WebSocket });
    await c.addAuth("digest", "bob:secret");
    expect(text((await c.getData("/private")).data)).toBe("for bob");
    const states: string[] = [];
    c.on("state", (st) => states.push(st));
    sockets.dropAll();
    // A new socket exists only once the client has seen the old one close.
    await waitFor(() => sockets.openCount === 1 && c.state === "connected", { timeoutMs: 10_000, what: "the client to reconnect" });
    expect(states).toContain("disconnected");
    expect(text((await c.getData("/private")).data)).toBe("for bob");
  });

  it("set PATH - takes the data from standard input", async () => {
    await client.create("/stdin", "old");
    const child = spawn(process.execPath, ["--import", "tsx", CLI_MAIN, "set", "/stdin", "-", ...connectArgs], { cwd: REPO_ROOT, stdio: ["pipe", "ignore", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.stdin.end("line one\nline two\n");
    const code = await new Promise((resolve) => child.once("close", resolve));
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(text((await client.getData("/stdin")).data)).toBe("line one\nline two\n");
  });
});
