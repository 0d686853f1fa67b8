import { CreateMode, Perms } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { tokenize } from "../src/args.ts";
import { createModeOf, findCommand, parseCommandArgs } from "../src/commands.ts";
import { ExitCode, reportError } from "../src/errors.ts";
import { FakeClient, seed } from "./fake-client.ts";
import { capture, type Captured } from "./helpers.ts";

/** Runs one command line the way the one-shot runner does: errors become exit codes. */
async function run(client: FakeClient, line: string, ctx: Captured = capture()): Promise<{ code: number; ctx: Captured }> {
  const [name, ...rest] = tokenize(line);
  const spec = findCommand(name!);
  if (spec === undefined) throw new Error(`no command ${name}`);
  try {
    return { code: await spec.run(client, parseCommandArgs(spec, rest), ctx), ctx };
  } catch (err) {
    return { code: reportError(ctx, err), ctx };
  }
}

describe("ls", () => {
  it("prints children sorted, one per line", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "", "/a/zeta": "", "/a/alpha": "", "/a/Mid": "", "/a/beta": "" });
    const { code, ctx } = await run(client, "ls /a");
    expect(code).toBe(0);
    expect(ctx.stdout).toEqual(["Mid", "alpha", "beta", "zeta"]);
  });

  it("prints nothing for a leaf and the stat with -s", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const { ctx } = await run(client, "ls /a -s");
    expect(ctx.stdout[0]).toMatch(/^cZxid = 0x/);
    expect(ctx.stdout).toContain("numChildren = 0");
  });

  it("fails with NONODE and exit 1 for a missing node", async () => {
    const { code, ctx } = await run(new FakeClient(), "ls /missing");
    expect(code).toBe(ExitCode.FAILED);
    expect(ctx.stderr).toEqual(["keeper: NONODE: no node (/missing)"]);
  });

  it("with -w in a one-shot command, waits for the child event and prints it", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const ctx = capture();
    const pending = run(client, "ls -w /a", ctx);
    await new Promise((r) => setImmediate(r));
    await client.create("/a/new");
    const { code } = await pending;
    expect(code).toBe(0);
    expect(ctx.stdout).toEqual(["NodeChildrenChanged /a"]);
  });
});

describe("get", () => {
  it("prints text data, and the stat with -s", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "hello" });
    const { code, ctx } = await run(client, "get /a -s");
    expect(code).toBe(0);
    expect(ctx.stdout[0]).toBe("hello");
    expect(ctx.stdout).toContain("dataLength = 5");
    expect(ctx.stdout).toContain("dataVersion = 0");
  });

  it("prints binary data as hex", async () => {
    const client = new FakeClient();
    await client.create("/bin", Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    expect((await run(client, "get /bin")).ctx.stdout).toEqual(["0xdeadbeef"]);
  });
});

describe("set", () => {
  it("replaces the data with any version", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "old" });
    const { code, ctx } = await run(client, "set /a 'new value'");
    expect(code).toBe(0);
    expect(ctx.stdout).toEqual([]);
    expect(new TextDecoder().decode(client.nodes.get("/a")!.data)).toBe("new value");
  });

  it("passes -v to setData and fails with BADVERSION when it does not match", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "old" });
    expect((await run(client, "set /a v1 -v 0")).code).toBe(0);
    const { code, ctx } = await run(client, "set /a v2 --version 0");
    expect(code).toBe(ExitCode.FAILED);
    expect(ctx.stderr).toEqual(["keeper: BADVERSION: version does not match (/a)"]);
    expect((await run(client, "set /a v2 -v 1 -s")).ctx.stdout).toContain("dataVersion = 2");
  });

  it.each(["set /a x -v 1x", "set /a x -v", "set /a", "set /a x y", "set a x"])("rejects %j with exit 2", async (line) => {
    const client = new FakeClient();
    await seed(client, { "/a": "old" });
    const { code, ctx } = await run(client, line);
    expect(code).toBe(ExitCode.USAGE);
    expect(ctx.stderr[0]).toMatch(/^keeper: /);
    expect(client.calls).toEqual([]);
  });
});

describe("create", () => {
  it.each([
    ["create /n", CreateMode.PERSISTENT, "/n"],
    ["create /n x -e", CreateMode.EPHEMERAL, "/n"],
    ["create /n -s", CreateMode.PERSISTENT_SEQUENTIAL, "/n0000000000"],
    ["create -e -s /n", CreateMode.EPHEMERAL_SEQUENTIAL, "/n0000000000"],
    ["create /n --ephemeral --sequential", CreateMode.EPHEMERAL_SEQUENTIAL, "/n0000000000"],
    ["create /n -c", CreateMode.CONTAINER, "/n"],
    ["create /n -t 5000", CreateMode.PERSISTENT_WITH_TTL, "/n"],
    ["create /n -s --ttl-ms 5000", CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, "/n0000000000"],
  ])("%s creates with mode %i and prints the path", async (line, mode, created) => {
    const client = new FakeClient();
    const { code, ctx } = await run(client, line);
    expect(code).toBe(0);
    expect(client.createOptions[0]!.mode).toBe(mode);
    expect(ctx.stdout).toEqual([created]);
  });

  it("passes the TTL", async () => {
    const client = new FakeClient();
    await run(client, "create /n -t 5000");
    expect(client.createOptions[0]).toEqual({ mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 5000 });
  });

  it("stores DATA, empty by default", async () => {
    const client = new FakeClient();
    await run(client, 'create /a "hi there"');
    await run(client, "create /b");
    expect(new TextDecoder().decode(client.nodes.get("/a")!.data)).toBe("hi there");
    expect(client.nodes.get("/b")!.data.length).toBe(0);
  });

  it("warns that a one-shot ephemeral vanishes, and says nothing of it in the shell", async () => {
    const oneshot = await run(new FakeClient(), "create /e -e");
    expect(oneshot.ctx.stderr.join()).toMatch(/ephemeral and is deleted as this command exits/);
    const shell = await run(new FakeClient(), "create /e -e", capture("shell"));
    expect(shell.ctx.stderr).toEqual([]);
  });

  it("with --hold, prints the path first and returns only once interrupted", async () => {
    let interrupt: () => void = () => {};
    const ctx = capture("oneshot", { interrupted: () => new Promise<void>((resolve) => (interrupt = resolve)) });
    const client = new FakeClient();
    let finished = false;
    const pending = run(client, "create /lock -e --hold", ctx).then((r) => ((finished = true), r));
    await new Promise((r) => setImmediate(r));
    expect(ctx.stdout).toEqual(["/lock"]);
    expect(finished).toBe(false);
    interrupt();
    expect((await pending).code).toBe(0);
  });

  it.each(["create /n -c -e", "create /n -c -s", "create /n -t 10 -e", "create /n -t 0", "create /n -t x", "create /n/ x", "create"])("rejects %j with exit 2", async (line) => {
    const client = new FakeClient();
    const { code } = await run(client, line);
    expect(code).toBe(ExitCode.USAGE);
    expect(client.calls).toEqual([]);
  });

  it("fails with NODEEXISTS and exit 1 for a duplicate", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const { code, ctx } = await run(client, "create /a");
    expect(code).toBe(1);
    expect(ctx.stderr).toEqual(["keeper: NODEEXISTS: node already exists (/a)"]);
  });

  it("createModeOf() covers every flag combination ZooKeeper has a mode for", () => {
    const f = (ephemeral: boolean, sequential: boolean, container = false, ttl = false) => createModeOf({ ephemeral, sequential, container, ttl });
    expect([f(false, false), f(true, false), f(false, true), f(true, true), f(false, false, true)]).toEqual([0, 1, 2, 3, 4]);
  });
});

describe("delete and deleteall", () => {
  it("deletes a leaf, honouring -v", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    expect((await run(client, "delete /a -v 3")).code).toBe(1);
    expect((await run(client, "rm /a -v 0")).code).toBe(0);
    expect(client.nodes.has("/a")).toBe(false);
  });

  it("refuses a node with children (NOTEMPTY)", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "", "/a/b": "" });
    const { code, ctx } = await run(client, "delete /a");
    expect(code).toBe(1);
    expect(ctx.stderr[0]).toMatch(/^keeper: NOTEMPTY/);
  });

  it("deleteall removes the whole subtree, children first", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "", "/a/b": "", "/a/b/c": "", "/a/d": "", "/keep": "" });
    expect((await run(client, "deleteall /a")).code).toBe(0);
    expect([...client.nodes.keys()].sort()).toEqual(["/", "/keep"]);
    const deletes = client.calls.filter((c) => c.startsWith("delete"));
    expect(deletes.indexOf("delete /a/b/c")).toBeLessThan(deletes.indexOf("delete /a/b"));
    expect(deletes.at(-1)).toBe("delete /a");
  });

  it("rmr is deleteall; a missing top node is NONODE; / is refused", async () => {
    const client = new FakeClient();
    expect((await run(client, "rmr /nothing")).code).toBe(1);
    expect((await run(client, "deleteall /")).code).toBe(2);
  });
});

describe("stat", () => {
  it("prints ZooKeeper's fields", async () => {
    const client = new FakeClient(0xabc);
    await seed(client, { "/a": "xyz" });
    await client.create("/a/e", "", { mode: CreateMode.EPHEMERAL });
    const { ctx } = await run(client, "stat /a/e");
    expect(ctx.stdout).toEqual([
      "cZxid = 0x2",
      "ctime = 2024-01-02T03:04:05.000Z",
      "mZxid = 0x2",
      "mtime = 2024-01-02T03:04:05.000Z",
      "pZxid = 0x2",
      "cversion = 0",
      "dataVersion = 0",
      "aclVersion = 0",
      "ephemeralOwner = 0xabc",
      "dataLength = 0",
      "numChildren = 0",
    ]);
  });

  it("is NONODE with exit 1 for a missing node", async () => {
    const { code, ctx } = await run(new FakeClient(), "stat /nope");
    expect(code).toBe(1);
    expect(ctx.stderr).toEqual(["keeper: NONODE: no node (/nope)"]);
  });
});

describe("watch", () => {
  it("prints the one data event and exits 0", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const ctx = capture();
    const pending = run(client, "watch /a", ctx);
    await new Promise((r) => setImmediate(r));
    await client.setData("/a", "x");
    expect((await pending).code).toBe(0);
    expect(ctx.stdout).toEqual(["NodeDataChanged /a"]);
  });

  it("sees a node being created", async () => {
    const client = new FakeClient();
    const ctx = capture();
    const pending = run(client, "watch /later", ctx);
    await new Promise((r) => setImmediate(r));
    await client.create("/later");
    await pending;
    expect(ctx.stdout).toEqual(["NodeCreated /later"]);
  });

  it("--children watches the children", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const ctx = capture();
    const pending = run(client, "watch /a --children", ctx);
    await new Promise((r) => setImmediate(r));
    await client.setData("/a", "ignored by a child watch");
    await client.create("/a/kid");
    await pending;
    expect(ctx.stdout).toEqual(["NodeChildrenChanged /a"]);
  });

  it("exits 1 when --timeout passes first", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const slept: number[] = [];
    const ctx = capture("oneshot", { sleep: async (ms) => void slept.push(ms) });
    const { code } = await run(client, "watch /a --timeout 1.5", ctx);
    expect(code).toBe(1);
    expect(slept).toEqual([1500]);
    expect(ctx.stderr).toEqual(["keeper: no event for /a within 1.5 s"]);
  });

  it("rejects a bad --timeout with exit 2", async () => {
    expect((await run(new FakeClient(), "watch /a --timeout soon")).code).toBe(2);
  });

  it("in the shell, returns at once and prints the event when it fires", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    const ctx = capture("shell");
    expect((await run(client, "watch /a", ctx)).code).toBe(0);
    expect(ctx.stdout).toEqual([]);
    await client.delete("/a");
    expect(ctx.stdout).toEqual(["NodeDeleted /a"]);
  });
});

describe("sync, getAcl, setAcl", () => {
  it("sync calls sync on the path", async () => {
    const client = new FakeClient();
    expect((await run(client, "sync /")).code).toBe(0);
    expect(client.calls).toEqual(["sync /"]);
  });

  it("getAcl prints scheme:id:perms lines and setAcl replaces them", async () => {
    const client = new FakeClient();
    await seed(client, { "/a": "" });
    expect((await run(client, "getAcl /a")).ctx.stdout).toEqual(["world:anyone:cdrwa"]);
    expect((await run(client, "setAcl /a ip:127.0.0.1:rw,world:anyone:r -v 0")).code).toBe(0);
    expect(client.nodes.get("/a")!.acl).toEqual([
      { scheme: "ip", id: "127.0.0.1", perms: Perms.READ | Perms.WRITE },
      { scheme: "world", id: "anyone", perms: Perms.READ },
    ]);
    expect((await run(client, "getacl /a")).ctx.stdout).toEqual(["ip:127.0.0.1:rw", "world:anyone:r"]);
    expect((await run(client, "setAcl /a world:anyone:z")).code).toBe(2);
  });
});
