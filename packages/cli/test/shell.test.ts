import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runShell } from "../src/shell.ts";
import { FakeClient } from "./fake-client.ts";
import { capture } from "./helpers.ts";

async function shell(client: FakeClient, lines: string[]) {
  const io = capture("shell");
  const code = await runShell(client, { input: Readable.from([lines.map((l) => l + "\n").join("")]), terminal: false, prompt: "keeper h:1> ", io });
  return { code, io };
}

describe("runShell() with piped input", () => {
  it("runs the lines in order on one session, errors printed and the shell going on", async () => {
    const client = new FakeClient();
    const { code, io } = await shell(client, [
      "create /app 'v 1'",
      "create /app/b",
      "create /app/a",
      "get /app",
      "",
      "# a comment",
      "get /missing",
      "set /app v2 -v 0",
      "set /app v3 -v 0",
      "ls /app",
      "bogus /x",
      "delete /app",
      "deleteall /app",
      "ls /",
    ]);
    expect(code).toBe(0);
    expect(io.transcript).toEqual([
      "/app",
      "/app/b",
      "/app/a",
      "v 1",
      "! keeper: NONODE: no node (/missing)",
      "! keeper: BADVERSION: version does not match (/app)",
      "a",
      "b",
      '! keeper: unknown command "bogus" (type help for the list)',
      "! keeper: NOTEMPTY: node has children (/app)",
    ]);
    expect(client.nodes.size).toBe(1);
  });

  it("prints watch events when they fire, between later commands", async () => {
    const client = new FakeClient();
    const { io } = await shell(client, ["create /w x", "watch /w", "get -w /w", "set /w y", "ls /w", "watch /w --children", "create /w/c", "stat /w/c"]);
    expect(io.transcript.slice(0, 5)).toEqual(["/w", "x", "NodeDataChanged /w", "NodeDataChanged /w", "NodeChildrenChanged /w"]);
    expect(io.transcript.at(-1)).toBe("numChildren = 0");
  });

  it("stops at quit or exit and ignores the lines after", async () => {
    const client = new FakeClient();
    const { io } = await shell(client, ["create /a", "quit", "create /b"]);
    expect(io.stdout).toEqual(["/a"]);
    expect(client.nodes.has("/b")).toBe(false);
    expect((await shell(new FakeClient(), ["exit", "create /b"])).io.stdout).toEqual([]);
  });

  it("reports usage errors and bad quoting without stopping", async () => {
    const { io } = await shell(new FakeClient(), ["create 'unterminated", "set /a", "ls /a --nope", "create relative", "create /ok"]);
    expect(io.stderr).toEqual([
      "keeper: unterminated ' quote",
      "keeper: set: expected PATH DATA, PATH -f FILE or PATH - (standard input)",
      "keeper: unknown option --nope",
      'keeper: invalid path "relative": path must start with /',
    ]);
    expect(io.stdout).toEqual(["/ok"]);
  });

  it("prints help, and a command's help", async () => {
    const { io } = await shell(new FakeClient(), ["help", "help get", "create --help"]);
    const out = io.stdout.join("\n");
    expect(out).toMatch(/^ {2}ls PATH/m);
    expect(out).toMatch(/quit, exit/);
    expect(out).toContain("usage: get PATH [-s] [-w] [-o json]");
    expect(out).toContain("usage: create PATH [DATA | -f FILE]");
  });

  it("keeps the session for ephemerals and holds no prompt on a pipe", async () => {
    const client = new FakeClient();
    const { io } = await shell(client, ["create -e /eph", "stat /eph"]);
    expect(io.stderr).toEqual([]);
    expect(io.stdout).toContain("ephemeralOwner = 0x1234");
    expect(io.stdout.join()).not.toContain("keeper h:1>");
  });

  it("reports session state changes", async () => {
    const client = new FakeClient();
    const io = capture("shell");
    const input = new Readable({ read() {} });
    const done = runShell(client, { input, terminal: false, prompt: "> ", io });
    client.emitState("disconnected");
    client.emitState("connected");
    input.push(null);
    await done;
    expect(io.stderr).toEqual(["[session disconnected]", "[session connected]"]);
  });
});
