import { EventEmitter } from "node:events";
import { Readable, Writable } from "node:stream";
import { Code, KeeperError } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { tokenize } from "../src/args.ts";
import { runCli, type CliDeps } from "../src/cli.ts";
import type { Connect, ConnectOptions } from "../src/ports.ts";
import { FakeClient, seed } from "./fake-client.ts";
import { capture } from "./helpers.ts";

function setup(connect?: Connect, env: Record<string, string> = {}, stdinLines: string[] = []) {
  const client = new FakeClient();
  const calls: Array<{ hosts: string; options: ConnectOptions | undefined }> = [];
  const ctx = capture("oneshot");
  const deps: CliDeps = {
    env,
    context: ctx,
    loadConnect: async () =>
      connect ??
      (async (hosts, options) => {
        calls.push({ hosts, options });
        return client;
      }),
    server: { loadServer: () => Promise.reject(new Error("no server in unit tests")), readFile: () => "", signals: new EventEmitter() as CliDeps["server"]["signals"] },
    stdin: Readable.from([stdinLines.map((l) => l + "\n").join("")]),
    stdout: new Writable({ write: (_c, _e, cb) => cb() }),
  };
  return { client, calls, ctx, run: (line: string) => runCli(tokenize(line), deps) };
}

describe("runCli()", () => {
  it("prints usage on stdout for --help and exits 0", async () => {
    const { ctx, run } = setup();
    expect(await run("--help")).toBe(0);
    expect(ctx.stdout[0]).toBe("usage: keeper <command> [options]");
    expect(ctx.stdout.join("\n")).toMatch(/deleteall PATH/);
  });

  it("help COMMAND prints that command's page; an unknown one exits 2", async () => {
    const a = setup();
    expect(await a.run("help set")).toBe(0);
    expect(a.ctx.stdout[0]).toBe("usage: keeper set PATH [DATA | -f FILE] [-v VERSION] [-s]");
    const b = setup();
    expect(await b.run("help server")).toBe(0);
    expect(b.ctx.stdout[0]).toBe("usage: keeper server [--config FILE] [options]");
    expect(await setup().run("help nothing")).toBe(2);
  });

  it("lists ensemble and status in the usage and has a help page for each", async () => {
    const a = setup();
    expect(await a.run("help")).toBe(0);
    expect(a.ctx.stdout.join("\n")).toMatch(/ensemble \[--nodes N\]/);
    expect(a.ctx.stdout.join("\n")).toMatch(/status \[--json\]/);
    const b = setup();
    expect(await b.run("help ensemble")).toBe(0);
    expect(b.ctx.stdout[0]).toMatch(/^usage: keeper ensemble/);
    const c = setup();
    expect(await c.run("status --help")).toBe(0);
    expect(c.ctx.stdout[0]).toMatch(/^usage: keeper status/);
    const d = setup();
    expect(await d.run("ensemble --nodes 0")).toBe(2);
    expect(d.ctx.stderr[0]).toMatch(/--nodes: must be 1\.\.7/);
  });

  it("prints usage on stderr and exits 2 with no command or an unknown one", async () => {
    const a = setup();
    expect(await a.run("")).toBe(2);
    expect(a.ctx.stderr[0]).toBe("usage: keeper <command> [options]");
    const b = setup();
    expect(await b.run("frobnicate /a")).toBe(2);
    expect(b.ctx.stderr[0]).toBe('keeper: unknown command "frobnicate"');
    expect(b.ctx.stdout).toEqual([]);
  });

  it("prints a command's help with the connection options, without connecting", async () => {
    const { ctx, calls, run } = setup();
    expect(await run("get --help")).toBe(0);
    expect(ctx.stdout[0]).toBe("usage: keeper get PATH [-s] [-w] [-o json]");
    expect(ctx.stdout.join("\n")).toContain("--connect HOSTS");
    expect(calls).toEqual([]);
  });

  it("connects to --connect with --timeout-ms, runs the command and closes the session", async () => {
    const { client, calls, ctx, run } = setup();
    await seed(client, { "/a": "data" });
    expect(await run("get /a --connect h1:1,h2:2/chroot --timeout-ms 3000")).toBe(0);
    expect(ctx.stdout).toEqual(["data"]);
    expect(calls).toEqual([{ hosts: "h1:1,h2:2/chroot", options: { sessionTimeoutMs: 3000, connectTimeoutMs: 3000, canBeReadOnly: false } }]);
    expect(client.closed).toBe(true);
  });

  it("defaults to $KEEPER_CONNECT, then 127.0.0.1:8181", async () => {
    const a = setup(undefined, { KEEPER_CONNECT: "10.1.1.1:9000" });
    await a.run("ls / -r");
    expect(a.calls[0]).toEqual({ hosts: "10.1.1.1:9000", options: { sessionTimeoutMs: 10000, connectTimeoutMs: 10000, canBeReadOnly: true } });
    const b = setup();
    await b.run("ls /");
    expect(b.calls[0]!.hosts).toBe("127.0.0.1:8181");
  });

  it("exits 1 with the code name for a ZooKeeper error, and still closes", async () => {
    const { client, ctx, run } = setup();
    expect(await run("delete /missing")).toBe(1);
    expect(ctx.stderr).toEqual(["keeper: NONODE: no node (/missing)"]);
    expect(client.closed).toBe(true);
  });

  it("exits 2 for usage errors before connecting", async () => {
    for (const line of ["ls", "ls /a --timeout-ms 12x", "ls /a --timeout-ms 0", "get /a --bogus", "set /a x -v one"]) {
      const { calls, ctx, run } = setup();
      expect(await run(line)).toBe(2);
      expect(ctx.stderr[0]).toMatch(/^keeper: /);
      expect(calls).toEqual([]);
    }
  });

  it("exits 3 when it cannot connect", async () => {
    const refuse: Connect = () => Promise.reject(new KeeperError(Code.CONNECTIONLOSS, "no server accepted the session within 100 ms"));
    const { ctx, run } = setup(refuse);
    expect(await run("ls / --connect 127.0.0.1:1 --timeout-ms 100")).toBe(3);
    expect(ctx.stderr).toEqual(["keeper: cannot connect to 127.0.0.1:1: CONNECTIONLOSS: no server accepted the session within 100 ms"]);
  });

  it("exits 2 when the client rejects the connect string", async () => {
    const bad: Connect = () => Promise.reject(new KeeperError(Code.BADARGUMENTS, 'bad port in connect string entry "h:x"'));
    const { run, ctx } = setup(bad);
    expect(await run("ls / --connect h:x")).toBe(2);
    expect(ctx.stderr[0]).toContain("--connect h:x");
  });

  it("exits 3 when the session expires while a command waits", async () => {
    const { client, ctx, run } = setup();
    const pending = run("watch /a");
    await new Promise((r) => setTimeout(r, 5));
    client.emitState("expired");
    expect(await pending).toBe(3);
    expect(ctx.stderr).toEqual(["keeper: session expired"]);
  });

  it("runs the shell on piped stdin", async () => {
    const { client, ctx, calls, run } = setup(undefined, {}, ["create /s hello", "get /s", "get /nope", "ls /"]);
    expect(await run("shell --connect h:1")).toBe(0);
    expect(calls[0]!.hosts).toBe("h:1");
    expect(ctx.transcript).toEqual(["/s", "hello", "! keeper: NONODE: no node (/nope)", "s"]);
    expect(client.closed).toBe(true);
  });

  it("shell exits 3 when it cannot connect and 2 on a stray argument", async () => {
    const refuse: Connect = () => Promise.reject(new Error("ECONNREFUSED"));
    expect(await setup(refuse).run("shell")).toBe(3);
    expect(await setup().run("shell extra")).toBe(2);
  });
});
