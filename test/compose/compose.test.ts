// The container deployment, tested without a Docker engine. The compose files and
// deploy/Dockerfile are read as data; the image's /app is laid out on the local disk from its
// COPY lines (the packages compiled by `npm run build`'s script, production dependencies only:
// image-app.ts); each service then runs there as a local process with exactly the command line
// and environment its container would get (image ENV, then the service's environment), on its
// own loopback address in place of its container address: keeperN is
// 127.0.0.1N (127.0.0.11, .12, ...), listening on the container ports (8181 client, 2888
// peer), with KEEPER_PEERS' hostnames rewritten to those addresses and /data a temporary
// directory. Then the ensemble is driven like the compose deployment: a client on every node,
// a leader "container" SIGKILLed, failover, writes resuming, the node restarted on its volume.
// When the docker-compose binary is installed, `docker-compose config` must accept both files
// and agree with our reading of them.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, connect, KeeperError, type KeeperClient } from "@keeper/client";
import { parseServerInvocation } from "@keeper/cli";
import { resolveServerConfig } from "@keeper/server";
import { envName } from "../../packages/cli/src/args.ts";
import { SERVER_FIELDS } from "../../packages/cli/src/server-options.ts";
import { containerArgv, dockerCompose, dockerComposeVersion, readCompose, readDockerfile, REPO_ROOT, type ComposeFile, type ComposeService, type ImageRuntime } from "./compose-model.ts";
import { layOutImageApp } from "./image-app.ts";

const DOCKERFILE = join(REPO_ROOT, "deploy/Dockerfile");
const FILES = [
  { file: "docker-compose.yml", nodes: 3 },
  { file: "deploy/docker-compose.5.yml", nodes: 5 },
] as const;
const CLIENT_PORT = 8181;
const PEER_PORT = 2888;
const KNOWN_ENV = new Set(Object.keys(SERVER_FIELDS).map(envName));

const image = readDockerfile(DOCKERFILE);
const composeOf = (file: string): ComposeFile => readCompose(join(REPO_ROOT, file));
const idOf = (service: ComposeService): number => Number(/^keeper(\d+)$/.exec(service.name)?.[1] ?? NaN);
/** The loopback address standing in for a service's container address: keeperN -> 127.0.0.1N. */
const addressOf = (hostname: string): string => {
  const m = /^keeper(\d)$/.exec(hostname);
  if (!m) throw new Error(`no loopback address for host ${hostname}`);
  return `127.0.0.1${m[1]}`;
};

describe("deploy/Dockerfile", () => {
  it("runs the compiled keeper CLI as an unprivileged user, with container defaults", () => {
    expect(image.entrypoint).toEqual(["node", "packages/cli/dist/main.js"]);
    expect(image.cmd).toEqual(["server"]);
    expect(image.workdir).toBe("/app");
    expect(image.user).toBe("10001:10001");
    expect(image.volumes).toEqual(["/data"]);
    expect([...image.exposed].sort()).toEqual([2181, 2888, 8181]);
    expect(image.env).toMatchObject({ KEEPER_DATA_DIR: "/data", KEEPER_HOST: "0.0.0.0", KEEPER_PEER_HOST: "0.0.0.0", KEEPER_CLIENT_PORT: String(CLIENT_PORT), KEEPER_PEER_PORT: String(PEER_PORT) });
    for (const name of Object.keys(image.env).filter((k) => k.startsWith("KEEPER_"))) expect(KNOWN_ENV, `unknown variable ${name}`).toContain(name);
    expect(image.healthcheck).toEqual(["node", "deploy/healthcheck.mjs"]);
  });

  it("builds in one stage and ships only production dependencies and the built packages", () => {
    expect(image.runs.build).toEqual(["npm ci --ignore-scripts", "npm run build"]);
    expect(image.runs.deps).toEqual(["npm ci --omit=dev --ignore-scripts"]);
    expect(image.copies).toEqual([
      { from: "deps", source: "/app/node_modules", dest: "/app/node_modules" },
      ...["protocol", "core", "client", "server", "cli"].map((p) => ({ from: "build", source: `/src/dist-packages/${p}`, dest: `/app/packages/${p}` })),
      { from: undefined, source: "deploy/healthcheck.mjs", dest: "/app/deploy/healthcheck.mjs" },
    ]);
    // --omit=dev leaves tsx out only while it is a dev dependency.
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    expect(manifest.dependencies?.tsx).toBeUndefined();
    expect(manifest.devDependencies?.tsx).toBeDefined();
  });
});

describe("docs/deployment.md", () => {
  it("lists every KEEPER_* setting of `keeper server` in its variable reference", () => {
    const doc = readFileSync(join(REPO_ROOT, "docs/deployment.md"), "utf8");
    const missing = [...KNOWN_ENV].filter((name) => !doc.includes(`| \`${name}\` |`));
    expect(missing, "add these to the table in docs/deployment.md").toEqual([]);
  });
});

describe.each(FILES)("$file", ({ file, nodes }) => {
  const compose = composeOf(file);

  it(`declares ${nodes} nodes keeper1..${nodes} built from deploy/Dockerfile, each with its own volume`, () => {
    expect(compose.services.map((s) => s.name)).toEqual(Array.from({ length: nodes }, (_, i) => `keeper${i + 1}`));
    expect(compose.volumes.sort()).toEqual(compose.services.map((s) => `${s.name}-data`).sort());
    for (const s of compose.services) {
      expect(s.build, s.name).toEqual({ context: REPO_ROOT, dockerfile: "deploy/Dockerfile" });
      expect(s.image).toBe("keeper:local");
      expect(s.hostname).toBe(s.name);
      expect(s.init).toBe(true);
      expect(s.restart).toBe("unless-stopped");
      expect(s.volumes).toEqual([{ source: `${s.name}-data`, target: "/data" }]);
      expect(s.healthcheck).toEqual(image.healthcheck);
    }
  });

  it("publishes node i's client port as 8180+i and nothing that is not in the design's table", () => {
    for (const s of compose.services) {
      const i = idOf(s);
      expect(s.ports.find((p) => p.target === CLIENT_PORT)?.published, s.name).toBe(8180 + i);
      for (const p of s.ports) {
        const expected = { [CLIENT_PORT]: 8180 + i, [PEER_PORT]: 2887 + i, 2181: 2180 + i }[p.target];
        expect(p.published, `${s.name} ${JSON.stringify(p)}`).toBe(expected);
      }
    }
  });

  it("gives every node the same peer list naming all nodes, and a configuration the server accepts", () => {
    const peers = new Set(compose.services.map((s) => s.environment.KEEPER_PEERS));
    expect(peers.size).toBe(1);
    expect([...peers][0]).toBe(compose.services.map((s) => `${idOf(s)}=${s.hostname}:${PEER_PORT}`).join(","));
    for (const s of compose.services) {
      for (const name of Object.keys(s.environment).filter((k) => k.startsWith("KEEPER_"))) expect(KNOWN_ENV, `${s.name}: unknown variable ${name}`).toContain(name);
      const inv = parseServerInvocation(containerArgv(image, s).slice(containerArgv(image, s).indexOf("server") + 1), { ...image.env, ...s.environment }, () => "");
      if (inv.help) throw new Error("unexpected --help");
      const config = resolveServerConfig(inv.partial);
      expect(config).toMatchObject({ serverId: idOf(s), dataDir: `/data/node${idOf(s)}`, host: "0.0.0.0", clientPort: CLIENT_PORT, peerPort: PEER_PORT });
    }
  });

  it("runs its peers authenticated: every node reads the same compose secret, kept out of git", () => {
    expect(Object.keys(compose.secrets)).toEqual(["peer_secret"]);
    expect(compose.secrets.peer_secret).toBe(join(REPO_ROOT, "peer-secret"));
    expect(readFileSync(join(REPO_ROOT, ".gitignore"), "utf8").split("\n")).toContain("peer-secret");
    for (const s of compose.services) {
      expect(s.secrets, s.name).toEqual(["peer_secret"]);
      expect(s.environment.KEEPER_PEER_SECRET_FILE, s.name).toBe("/run/secrets/peer_secret");
      expect(s.environment.KEEPER_PEER_SECRET, `${s.name} must not carry the secret in the file`).toBeUndefined();
    }
  });
});

describe("docker-compose.yml monitoring profile", () => {
  const compose = composeOf("docker-compose.yml");
  const byName = (name: string) => compose.profiled.find((s) => s.name === name);

  it("starts Prometheus and Grafana only with --profile monitoring, from config files in deploy/", () => {
    expect(compose.profiled.map((s) => [s.name, s.profiles])).toEqual([
      ["prometheus", ["monitoring"]],
      ["grafana", ["monitoring"]],
    ]);
    for (const s of compose.profiled) {
      for (const v of s.volumes) expect(existsSync(join(REPO_ROOT, v.source)), `${s.name} mounts ${v.source}`).toBe(true);
    }
    expect(byName("prometheus")!.ports.map((p) => p.target)).toEqual([9090]);
    expect(byName("grafana")!.ports.map((p) => p.target)).toEqual([3000]);
    // Prometheus reads the mounted directory's config, which names its rule file relative to itself.
    const mount = byName("prometheus")!.volumes[0]!;
    expect(byName("prometheus")!.command).toContain(`--config.file=${mount.target}/prometheus.yml`);
  });

  it("has Prometheus scrape every node's admin port by its compose hostname", () => {
    const config = readFileSync(join(REPO_ROOT, "deploy/prometheus/prometheus.yml"), "utf8");
    const targets = /targets:\s*\[([^\]]*)\]/.exec(config)?.[1]?.split(",").map((t) => t.trim().replace(/"/g, ""));
    expect(targets).toEqual(compose.services.map((s) => `${s.hostname}:${CLIENT_PORT}`));
  });
});

const composeVersion = dockerComposeVersion();
describe("docker-compose config", () => {
  if (composeVersion === undefined) {
    it.skip("skipped: the docker-compose binary is not installed (apt-get install -y docker-compose)", () => {});
    return;
  }
  it.each(FILES)(`accepts $file (docker-compose ${composeVersion})`, ({ file }) => {
    const r = dockerCompose(["-f", file, "config", "-q"]);
    expect(r.status, r.stderr).toBe(0);
  });

  it.each(FILES)("resolves $file to the services, environment, ports and volumes we read", ({ file }) => {
    const r = dockerCompose(["-f", file, "config"]);
    expect(r.status, r.stderr).toBe(0);
    const resolved = readCompose(join(REPO_ROOT, file), r.stdout);
    const ours = composeOf(file);
    const shape = (c: ComposeFile) =>
      c.services.map((s) => ({ ...s, ports: s.ports.map((p) => ({ published: p.published, target: p.target })) })).sort((a, b) => a.name.localeCompare(b.name));
    expect(shape(resolved)).toEqual(shape(ours));
    expect(resolved.volumes.sort()).toEqual(ours.volumes.sort());
  });
});

// ---- the services as local processes ----------------------------------------------------------

interface Container {
  readonly service: ComposeService;
  readonly address: string;
  readonly env: Record<string, string>;
  readonly dataDir: string;
  proc: { child: ChildProcess; exited: Promise<void>; output: () => string } | undefined;
}

const started = new Set<ChildProcess>();
const tempDirs: string[] = [];

/** The image's /app on the local disk, laid out once for all the process tests (tsc takes a while). */
let imageApp: Promise<string> | undefined;
function appDir(): Promise<string> {
  imageApp ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "keeper-image-app-"));
    tempDirs.push(dir);
    mkdirSync(join(dir, "app"));
    layOutImageApp(image, join(dir, "app"));
    return join(dir, "app");
  })();
  return imageApp;
}
let app = "";
const APP_BUILD_MS_MAX = 300_000;
const clients: KeeperClient[] = [];

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all([...started].map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** The container's environment: image ENV, then the service's, then the local stand-ins for its network and volume. */
function containerEnv(image: ImageRuntime, service: ComposeService, dataDir: string): Record<string, string> {
  const address = addressOf(service.hostname ?? service.name);
  const env: Record<string, string> = { ...image.env, ...service.environment };
  env.KEEPER_PEERS = (env.KEEPER_PEERS ?? "").replace(/(\d+)=([^:,]+):(\d+)/g, (_m, id: string, host: string, port: string) => `${id}=${addressOf(host)}:${port}`);
  env.KEEPER_HOST = address;
  env.KEEPER_PEER_HOST = address;
  env.KEEPER_DATA_DIR = dataDir;
  env.KEEPER_LOG_LEVEL = "warn";
  // The compose secret's mount, /run/secrets/<name>, stands in as a file of the test's own.
  const secret = /^\/run\/secrets\/(.+)$/.exec(env.KEEPER_PEER_SECRET_FILE ?? "");
  if (secret) env.KEEPER_PEER_SECRET_FILE = secretFile(dirname(dataDir), secret[1]!);
  return env;
}

function prepare(file: string): Container[] {
  const compose = composeOf(file);
  const root = mkdtempSync(join(tmpdir(), "keeper-compose-"));
  tempDirs.push(root);
  return compose.services.map((service) => {
    const dataDir = join(root, `${service.name}-data`);
    return { service, address: addressOf(service.hostname ?? service.name), env: containerEnv(image, service, dataDir), dataDir, proc: undefined };
  });
}

/** A random secret in `dir`, the same one for every service of the run (they share the file). */
function secretFile(dir: string, name: string): string {
  const path = join(dir, `secret-${name}`);
  if (!existsSync(path)) writeFileSync(path, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
  return path;
}

/** The host process environment minus anything KEEPER_*, so only the container's settings count. */
function baseEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith("KEEPER_")));
}

/** Runs the container's argv (its `node` is this Node binary) in the image's /app laid out locally, its WORKDIR. */
function startContainer(c: Container): void {
  const [exe, ...args] = containerArgv(image, c.service);
  if (exe !== "node") throw new Error(`the image's entrypoint starts with ${exe}, expected node`);
  if (app === "") throw new Error("the image's /app is not laid out yet");
  const child = spawn(process.execPath, args, { cwd: app, env: { ...baseEnv(), ...c.env }, stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  c.proc = { child, exited, output: () => out };
}

async function killContainer(c: Container): Promise<void> {
  const p = c.proc;
  if (!p) return;
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await p.exited;
}

const alive = (c: Container): boolean => c.proc !== undefined && c.proc.child.exitCode === null && c.proc.child.signalCode === null;

/** Fails fast, with the reason, when another process already holds one of the addresses. */
async function assertPortsFree(cs: Container[]): Promise<void> {
  for (const c of cs)
    for (const port of [CLIENT_PORT, PEER_PORT])
      await new Promise<void>((res, rej) => {
        const s = createServer();
        s.once("error", (e) => rej(new Error(`${c.address}:${port} (${c.service.name}) is not free: ${(e as Error).message}; is another compose test or a local keeper running?`)));
        s.listen(port, c.address, () => s.close(() => res()));
      });
}

async function status(c: Container): Promise<Record<string, any> | undefined> {
  try {
    const res = await fetch(`http://${c.address}:${CLIENT_PORT}/status`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as Record<string, any>;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every running node serves and all follow one leader; returns that leader's container. */
async function waitForLeader(cs: Container[], timeoutMs = 20_000): Promise<{ leader: Container; statuses: Array<Record<string, any>> }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown[] = [];
  for (;;) {
    const running = cs.filter(alive);
    for (const c of cs) if (c.proc && !alive(c) && c.proc.child.signalCode !== "SIGKILL") throw new Error(`${c.service.name} exited:\n${c.proc.output()}`);
    const statuses = await Promise.all(running.map(status));
    last = statuses.map((s) => s && { id: s.serverId, state: s.state, serving: s.serving, leader: s.leader, zxid: s.lastZxidHex });
    if (statuses.every((s) => s?.serving)) {
      const leaders = statuses.filter((s) => s!.state === "leading");
      const ids = new Set(statuses.map((s) => s!.leader));
      if (leaders.length === 1 && ids.size === 1 && statuses.filter((s) => s!.state === "following").length === running.length - 1) {
        const leader = running.find((c) => idOf(c.service) === leaders[0]!.serverId)!;
        return { leader, statuses: statuses as Array<Record<string, any>> };
      }
    }
    if (Date.now() > deadline) throw new Error(`no single serving leader within ${timeoutMs} ms: ${JSON.stringify(last)}\n${cs.map((c) => `--- ${c.service.name}\n${c.proc?.output() ?? ""}`).join("\n")}`);
    await sleep(50);
  }
}

/** Runs the image's HEALTHCHECK command inside the "container" (its environment); returns the exit code. */
function healthcheck(c: Container, ...extra: string[]): Promise<number> {
  const [exe, ...args] = image.healthcheck;
  if (exe !== "node") throw new Error(`unexpected healthcheck command ${exe}`);
  return new Promise((res) => {
    execFile(process.execPath, [...args, ...extra], { cwd: app, env: { ...baseEnv(), ...c.env }, timeout: 10_000 }, (err) => res(err ? (typeof err.code === "number" ? err.code : 1) : 0));
  });
}

/** Retries a write through failover: lost connections and timeouts are retried, anything else fails. */
async function retryWrite<T>(what: string, op: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (e) {
      const retriable = e instanceof KeeperError && (e.code === Code.CONNECTIONLOSS || e.code === Code.OPERATIONTIMEOUT);
      if (!retriable || Date.now() > deadline) throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      await sleep(50);
    }
  }
}

/** create that treats NODEEXISTS on a retry as success (the first try may have committed before its reply was lost). */
async function createOnce(client: KeeperClient, path: string, data: string): Promise<void> {
  let tries = 0;
  await retryWrite(`create ${path}`, async () => {
    try {
      tries++;
      await client.create(path, data);
    } catch (e) {
      if (tries > 1 && e instanceof KeeperError && e.code === Code.NODEEXISTS) return;
      throw e;
    }
  });
}

const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

async function openClient(cs: Container[]): Promise<KeeperClient> {
  const client = await connect(cs.map((c) => `${c.address}:${CLIENT_PORT}`).join(","), { sessionTimeoutMs: 10_000, connectTimeoutMs: 10_000, requestTimeoutMs: 4_000 });
  clients.push(client);
  return client;
}

/** Runs `body` with the file's services started as local processes; kills them (only them) afterwards, pass or fail. */
async function withEnsemble(file: string, body: (cs: Container[]) => Promise<void>): Promise<void> {
  const cs = prepare(file);
  await assertPortsFree(cs);
  try {
    cs.forEach(startContainer);
    await body(cs);
  } finally {
    await Promise.all(cs.map(killContainer));
  }
}

async function readAll(client: KeeperClient, paths: Map<string, string>): Promise<Map<string, string>> {
  await retryWrite("sync", () => client.sync("/"));
  const out = new Map<string, string>();
  for (const path of paths.keys()) out.set(path, decode((await retryWrite(`get ${path}`, () => client.getData(path))).data));
  return out;
}

describe("docker-compose.yml run as local processes", () => {
  beforeAll(async () => {
    app = await appDir();
  }, APP_BUILD_MS_MAX);

  it("has no tsx or TypeScript in the image's /app: the compiled packages run on plain Node", () => {
    for (const devOnly of ["tsx", "typescript", "vitest"]) expect(existsSync(join(app, "node_modules", devOnly)), devOnly).toBe(false);
    expect(existsSync(join(app, "packages/cli/dist/main.js"))).toBe(true);
    expect(existsSync(join(app, "packages/server/dist/dashboard/page.html")), "the dashboard's page is copied beside the compiled code").toBe(true);
  });

  it("elects a leader, serves a client on all nodes, fails over when the leader's container is killed and takes the node back", { timeout: 120_000 }, async () => {
    await withEnsemble("docker-compose.yml", async (cs) => {
      const { leader } = await waitForLeader(cs);
      for (const c of cs) {
        expect(await healthcheck(c), `${c.service.name} /healthz`).toBe(0);
        expect(await healthcheck(c, "/readyz"), `${c.service.name} /readyz`).toBe(0);
      }
      // The dashboard from compiled code: its page is an asset tsc does not emit, its script is
      // bundled at run time from the compiled app/main.js.
      for (const asset of ["/", "/dashboard.js"]) {
        const res = await fetch(`http://${leader.address}:${CLIENT_PORT}${asset}`);
        expect(res.status, `GET ${asset}: ${await res.clone().text()}`).toBe(200);
        expect((await res.text()).length).toBeGreaterThan(1000);
      }

      const client = await openClient(cs);
      const written = new Map<string, string>();
      await client.create("/compose", "ensemble");
      written.set("/compose", "ensemble");
      for (let i = 0; i < 20; i++) {
        await client.create(`/compose/before-${i}`, `v${i}`);
        written.set(`/compose/before-${i}`, `v${i}`);
      }
      expect(await readAll(client, written)).toEqual(written);

      // `docker compose kill keeperN` on the leader: SIGKILL, no goodbye to anyone.
      const sessionId = client.sessionId;
      const killedAt = Date.now();
      await killContainer(leader);
      const rest = cs.filter((c) => c !== leader);
      const { leader: next } = await waitForLeader(rest);
      const failoverMs = Date.now() - killedAt;
      expect(next).not.toBe(leader);
      expect(await healthcheck(leader), "the killed node's healthcheck").not.toBe(0);

      // The same client session carries on: writes resume on the new leader, older data is intact.
      for (let i = 0; i < 10; i++) {
        await createOnce(client, `/compose/after-${i}`, `a${i}`);
        written.set(`/compose/after-${i}`, `a${i}`);
      }
      expect(await readAll(client, written)).toEqual(written);
      expect((await client.getChildren("/compose")).children.length).toBe(30);
      expect(client.sessionId, "the session survived the failover").toBe(sessionId);

      // restart: unless-stopped brings the container back on the same volume; it rejoins and catches up.
      startContainer(leader);
      await waitForLeader(cs);
      await createOnce(client, "/compose/rejoined", "yes");
      const converged = await (async () => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const ss = await Promise.all(cs.map(status));
          if (ss.every((s) => s && s.lastZxid === ss[0]!.lastZxid && s.digest === ss[0]!.digest)) return ss;
          if (Date.now() > deadline) throw new Error(`nodes did not converge: ${JSON.stringify(ss.map((s) => s && { id: s.serverId, zxid: s.lastZxidHex, digest: s.digest }))}`);
          await sleep(50);
        }
      })();
      expect(converged.map((s) => s!.nodes)).toEqual(cs.map(() => converged[0]!.nodes));
      expect(await healthcheck(leader, "/readyz")).toBe(0);
      console.info(`compose 3-node: leader keeper${idOf(leader.service)} killed, keeper${idOf(next.service)} leads after ${failoverMs} ms`);
      await client.close();
    });
  });
});

describe("deploy/docker-compose.5.yml run as local processes", () => {
  beforeAll(async () => {
    app = await appDir();
  }, APP_BUILD_MS_MAX);

  it("keeps serving writes with two of five containers killed, the leader among them", { timeout: 120_000 }, async () => {
    await withEnsemble("deploy/docker-compose.5.yml", async (cs) => {
      const { leader } = await waitForLeader(cs);
      const client = await openClient(cs);
      const written = new Map<string, string>();
      await client.create("/five", "5");
      written.set("/five", "5");
      for (let i = 0; i < 10; i++) {
        await client.create(`/five/before-${i}`, `v${i}`);
        written.set(`/five/before-${i}`, `v${i}`);
      }
      const follower = cs.find((c) => c !== leader)!;
      await Promise.all([killContainer(leader), killContainer(follower)]);
      const rest = cs.filter((c) => c !== leader && c !== follower);
      await waitForLeader(rest);
      for (let i = 0; i < 5; i++) {
        await createOnce(client, `/five/after-${i}`, `a${i}`);
        written.set(`/five/after-${i}`, `a${i}`);
      }
      expect(await readAll(client, written)).toEqual(written);
      await client.close();
    });
  });
});
