// keeper export / import through the client: data, ACLs and modes survive the round trip; an
// import under another path, over existing nodes, and refusals of what cannot be imported.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateMode, Perms } from "@keeper/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, type CliDeps } from "../src/cli.ts";
import { ExitCode } from "../src/errors.ts";
import { checkExportDoc, exportTree, importTree, keeperSource } from "../src/tree-transfer.ts";
import { parseZkUrl } from "../src/zk-source.ts";
import { FakeClient, seed } from "./fake-client.ts";
import { capture, type Captured } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "keeper-transfer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readOnlyBob = [{ scheme: "world", id: "anyone", perms: Perms.READ }, { scheme: "digest", id: "bob:9bUbaqf/ZSMdkL9vGIEXmhEZGJg=", perms: Perms.ALL }];

async function sourceTree(): Promise<FakeClient> {
  const c = new FakeClient();
  await seed(c, { "/app": "root", "/app/b": "bee", "/zookeeper": "" });
  await c.create("/app/bin", new Uint8Array([0, 255, 7]));
  await c.create("/app/locked", "secret", { acl: readOnlyBob });
  await c.create("/app/locked/inner", "x");
  await c.create("/app/e", "gone", { mode: CreateMode.EPHEMERAL });
  return c;
}

function deps(ctx: Captured, client: FakeClient): CliDeps {
  return { env: {}, context: ctx, loadConnect: async () => async () => client, server: { loadServer: async () => ({}) as never, readFile: () => "", signals: process }, stdin: process.stdin, stdout: process.stdout };
}

describe("export / import", () => {
  it("export lists nodes parents first with data, ACL and mode; /zookeeper is left out", async () => {
    const doc = await exportTree(keeperSource(await sourceTree()), "/", () => {}, () => {});
    expect(doc.nodes.map((n) => n.path)).toEqual(["/", "/app", "/app/b", "/app/bin", "/app/e", "/app/locked", "/app/locked/inner"]);
    const locked = doc.nodes.find((n) => n.path === "/app/locked")!;
    expect(locked.acl).toEqual(["world:anyone:r", "digest:bob:9bUbaqf/ZSMdkL9vGIEXmhEZGJg=:cdrwa"]);
    expect(doc.nodes.find((n) => n.path === "/app/e")!.mode).toBe("ephemeral");
    expect(doc.nodes.find((n) => n.path === "/app/bin")!.dataBase64).toBe("AP8H");
  });

  it("import under --to recreates data and exact ACLs, skips ephemerals, and never locks itself out", async () => {
    const doc = await exportTree(keeperSource(await sourceTree()), "/app", () => {}, () => {});
    const target = new FakeClient();
    await seed(target, { "/copy": "" });
    const r = await importTree(target, checkExportDoc(JSON.parse(JSON.stringify(doc))), "/copy/app", false, () => {});
    // /app had 5 children created at the source (the ephemeral /app/e among them), 4 here.
    expect(r).toEqual({ created: 5, overwritten: 0, skippedEphemerals: 1, sequencesCarried: 1 });
    expect(new TextDecoder().decode(target.nodes.get("/copy/app/locked")!.data)).toBe("secret");
    expect(target.nodes.get("/copy/app/locked")!.acl).toEqual(readOnlyBob);
    // Created with this session's address added, then set to the exact ACL.
    expect(target.createOptions.find((_, i) => target.calls.filter((c) => c.startsWith("create"))[i] === "create /copy/app/locked")?.acl).toContainEqual({ scheme: "ip", id: "127.0.0.1", perms: Perms.ALL });
    expect(target.calls).toContain("setACL /copy/app/locked");
    expect([...target.nodes.get("/copy/app/bin")!.data]).toEqual([0, 255, 7]);
    expect(target.nodes.has("/copy/app/e")).toBe(false);
  });

  it("an existing node stops the import unless --overwrite", async () => {
    const doc = await exportTree(keeperSource(await sourceTree()), "/app", () => {}, () => {});
    const target = new FakeClient();
    await seed(target, { "/app": "old", "/app/b": "old b" });
    await expect(importTree(target, doc, "/app", false, () => {})).rejects.toThrow(/NODEEXISTS/);
    const again = new FakeClient();
    await seed(again, { "/app": "old", "/app/b": "old b" });
    const r = await importTree(again, doc, "/app", true, () => {});
    expect(r.overwritten).toBe(2);
    expect(new TextDecoder().decode(again.nodes.get("/app/b")!.data)).toBe("bee");
  });

  it("import continues each node's sequential numbering from the source's counter, not from the children it copied", async () => {
    const source = new FakeClient();
    await seed(source, { "/q": "", "/locked": "" });
    // Three jobs, two of them done and deleted, and an ephemeral worker: the counter is at 4.
    for (let i = 0; i < 3; i++) await source.create("/q/job-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL });
    await source.delete("/q/job-0000000000");
    await source.delete("/q/job-0000000001");
    await source.create("/q/worker-", "", { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
    // A node whose ACL gives nobody ADMIN: the import's own session still raises its counter.
    await source.create("/locked/a-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL });
    await source.delete("/locked/a-0000000000");
    await source.create("/locked/b", "");
    await source.setACL("/locked", [{ scheme: "world", id: "anyone", perms: Perms.READ | Perms.CREATE }]);
    const doc = await exportTree(keeperSource(source), "/", () => {}, () => {});
    expect(doc.nodes.find((n) => n.path === "/q")).toMatchObject({ cversion: 2 * 4 - 2, nextSequence: 4 });

    const target = new FakeClient();
    const r = await importTree(target, checkExportDoc(JSON.parse(JSON.stringify(doc))), "/", false, () => {});
    expect(r.sequencesCarried).toBe(2);
    expect(target.calls.filter((c) => c.startsWith("setSequence"))).toEqual(["setSequence /locked 2", "setSequence /q 4"]);
    // The counter is raised before the exact ACL is set, while the session still has ADMIN.
    expect(target.calls.indexOf("setSequence /locked 2")).toBeLessThan(target.calls.indexOf("setACL /locked"));
    expect(await target.create("/q/job-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL })).toBe("/q/job-0000000004");
    expect(await source.create("/q/job-", "", { mode: CreateMode.PERSISTENT_SEQUENTIAL })).toBe("/q/job-0000000004");
  });

  it("an export written before nextSequence existed still imports, without carrying counters", async () => {
    const old = { format: "keeper-export", version: 1, root: "/o", nodes: [{ path: "/o", dataBase64: "", acl: ["world:anyone:cdrwa"], mode: "persistent", cversion: 6 }] };
    const target = new FakeClient();
    const r = await importTree(target, checkExportDoc(old), "/o", false, () => {});
    expect(r).toEqual({ created: 1, overwritten: 0, skippedEphemerals: 0, sequencesCarried: 0 });
    expect(() => checkExportDoc({ ...old, nodes: [{ ...old.nodes[0], nextSequence: -3 }] })).toThrow(/nextSequence -3/);
  });

  it("refuses a document that is not an export, and ACLs the source server hid", async () => {
    expect(() => checkExportDoc({ nodes: [] })).toThrow(/not a keeper export/);
    expect(() => checkExportDoc({ format: "keeper-export", version: 1, root: "/a", nodes: [{ path: "/b", dataBase64: "", acl: [], mode: "persistent" }] })).toThrow(/outside \/a/);
    const hidden = { format: "keeper-export" as const, version: 1 as const, root: "/s", nodes: [{ path: "/s", dataBase64: "", acl: ["digest:bob:x:cdrwa"], mode: "persistent" as const, cversion: 0 }] };
    hidden.nodes.unshift({ path: "/s", dataBase64: "", acl: ["world:anyone:cdrwa"], mode: "persistent", cversion: 0 });
    hidden.nodes[1]!.path = "/s/t";
    const target = new FakeClient();
    await expect(importTree(target, hidden, "/s", false, () => {})).rejects.toThrow(/hidden by the source server/);
    // Checked before anything was written.
    expect(target.nodes.has("/s")).toBe(false);
  });

  it("keeper export -f FILE then keeper import FILE --to PATH through the CLI", async () => {
    const source = await sourceTree();
    const file = join(dir, "app.json");
    const out = capture();
    expect(await runCli(["export", "/app", "-f", file], deps(out, source))).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8")).nodes).toHaveLength(6);
    const target = new FakeClient();
    const io = capture();
    expect(await runCli(["import", file, "--to", "/restored"], deps(io, target))).toBe(0);
    expect(io.stdout).toEqual(["created 5, overwrote 0, skipped 1 ephemeral nodes, continued 1 sequence counters under /restored"]);
    expect(target.nodes.has("/restored/locked/inner")).toBe(true);
    const bad = capture();
    expect(await runCli(["import", join(dir, "missing.json")], deps(bad, target))).toBe(ExitCode.USAGE);
  });
});

describe("copy --from", () => {
  it.each([
    ["zk://h:2182/app/x", { host: "h", port: 2182, path: "/app/x" }],
    ["zk://h", { host: "h", port: 2181, path: "/" }],
    ["zk://[::1]:2181/a/", { host: "::1", port: 2181, path: "/a" }],
  ])("parses %s", (text, expected) => expect(parseZkUrl(text)).toEqual(expected));

  it("refuses anything but zk:// before connecting", async () => {
    const io = capture();
    expect(await runCli(["copy", "--from", "http://h:2181/"], deps(io, new FakeClient()))).toBe(ExitCode.USAGE);
    expect(io.stderr[0]).toMatch(/expected zk:\/\/HOST/);
  });
});
