// The packages as a user gets them: `npm run build`'s tarballs installed with `npm install` into
// an empty project, offline (the third-party dependencies are packed from this repository's
// node_modules, so no registry is asked), and used there without tsx: the installed `keeper`
// command runs a server and a client command, a plain Node script imports @keeper/client, and
// TypeScript type-checks code against its declarations.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildPackages } from "../../scripts/build-packages.ts";
import { poll } from "../support/ensemble.ts";
import { REPO_ROOT, freePort, tempDir } from "../support/processes.ts";
import { runtimeClosure } from "../support/runtime-deps.ts";

const sh = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 240_000 });

describe("packed packages in an empty project", () => {
  const work = tempDir("keeper-packed-");
  let server: ChildProcess | undefined;
  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill("SIGKILL");
      await new Promise((r) => server!.once("exit", r));
    }
    work.cleanup();
  });

  it("installs offline and runs without tsx: the keeper command, a Node script and type-checked TypeScript", async () => {
    const tarballs = buildPackages(join(work.path, "packages"));
    expect(tarballs.map((t) => t.split("/").pop())).toEqual(["keeper-protocol-0.1.0.tgz", "keeper-core-0.1.0.tgz", "keeper-client-0.1.0.tgz", "keeper-server-0.1.0.tgz", "keeper-cli-0.1.0.tgz"]);
    const externals = new Set<string>();
    for (const t of tarballs) {
      const manifest = JSON.parse(sh("tar", ["-xzOf", t, "package/package.json"], work.path)) as { dependencies?: Record<string, string> };
      for (const dep of Object.keys(manifest.dependencies ?? {})) if (!dep.startsWith("@keeper/")) externals.add(dep);
    }
    const ext = join(work.path, "ext");
    mkdirSync(ext);
    sh("npm", ["pack", "--silent", "--ignore-scripts", ...runtimeClosure([...externals])], ext);
    const app = join(work.path, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }));
    sh("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs, ...readdirSync(ext).map((f) => join(ext, f))], app);
    expect(existsSync(join(app, "node_modules", "tsx"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "@keeper", "client", "dist", "index.d.ts"))).toBe(true);

    const keeper = join(app, "node_modules", ".bin", "keeper");
    expect(sh(keeper, ["--version"], app).trim()).toBe("keeper 0.1.0");

    // The compiled server, started by the installed command.
    const port = await freePort();
    server = spawn(keeper, ["server", "--data-dir", join(work.path, "data"), "--client-port", String(port), "--zk-port=-1", "--host", "127.0.0.1"], { cwd: app, stdio: ["ignore", "ignore", "pipe"] });
    let serverErr = "";
    server.stderr!.on("data", (d: Buffer) => (serverErr += d.toString()));
    await poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, { timeoutMs: 60_000, what: () => `the installed server to be ready (stderr: ${serverErr})` });
    const connect = `127.0.0.1:${port}`;
    expect(sh(keeper, ["create", "/from-cli", "hello", "--connect", connect], app).trim()).toBe("/from-cli");

    writeFileSync(join(app, "read.mjs"), 'import { connect } from "@keeper/client";\nconst zk = await connect(process.argv[2]);\nconst { data } = await zk.getData("/from-cli");\nconsole.log(new TextDecoder().decode(data));\nawait zk.close();\n');
    expect(sh(process.execPath, ["read.mjs", connect], app).trim()).toBe("hello");

    writeFileSync(join(app, "typed.ts"), 'import { connect, type KeeperClient, type Stat } from "@keeper/client";\nexport async function version(cs: string): Promise<number> {\n  const zk: KeeperClient = await connect(cs, { sessionTimeoutMs: 5000 });\n  const stat: Stat | null = await zk.exists("/from-cli");\n  await zk.close();\n  return stat?.version ?? -1;\n}\n');
    writeFileSync(join(app, "bad.ts"), 'import { connect } from "@keeper/client";\nexport const n: number = connect;\n');
    const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const flags = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck"];
    sh(process.execPath, [tsc, ...flags, "typed.ts"], app);
    // The declarations are real: a wrong use fails to compile.
    let compileErrors = "";
    try {
      sh(process.execPath, [tsc, ...flags, "bad.ts"], app);
    } catch (err) {
      compileErrors = String((err as { stdout?: string }).stdout);
    }
    expect(compileErrors).toMatch(/bad\.ts.*TS2322/);
  }, 600_000);
});
