// The super user and ACL hardening, differentially: one script of ZooKeeper wire requests runs
// against Apache ZooKeeper 3.8 (standalone, -Dzookeeper.DigestAuthenticationProvider.superDigest)
// and against a 3-node Keeper ensemble given the same digest (--super-digest), with the super
// user's session on a follower so its writes are forwarded. Every answer (error code and the
// body's meaningful fields) must match. The script is the issue's lock-out: an anonymous
// setACL("/") that only the super user can undo; then redaction, /zookeeper/config and create
// flags.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH_XID, codeName, type JuteAcl, type ZkReply, type ZkRequest } from "@keeper/protocol";
import { startEnsemble, type Ensemble } from "../support/ensemble.ts";
import { freePort } from "../support/processes.ts";
import { ZkRawClient } from "../support/zk-raw.ts";
import { zkPorts } from "../support/zk-tools.ts";
import { HOST, STANDALONE_MAIN, fourLetter, isRunning, spawnZooKeeper, writeZooCfg, zookeeperJarUnavailable } from "../support/zookeeper-server.ts";
import { digestId } from "./differential/acls.ts";

const SUPER = "super:opensesame";
const SUPER_DIGEST = digestId(SUPER);
const OWNER = "owner:pw";
const enc = new TextEncoder();
const dec = new TextDecoder();
const ALL = 31;
const world = (perms: number): JuteAcl => ({ perms, scheme: "world", id: "anyone" });
const ownerOnly: JuteAcl[] = [{ perms: ALL, scheme: "digest", id: digestId(OWNER) }];

type Who = "anon" | "super" | "owner" | "wrongSuper";
type Step = [Who, ZkRequest];

const create = (path: string, acl: JuteAcl[] = [world(ALL)], flags = 0): ZkRequest => ({ type: "create", path, data: enc.encode("d"), acl, flags });

const SCRIPT: Step[] = [
  ["anon", create("/locked", ownerOnly)],
  ["anon", { type: "getData", path: "/locked", watch: false }],
  ["owner", { type: "getACL", path: "/locked" }],
  ["super", { type: "getData", path: "/locked", watch: false }],
  ["super", { type: "getACL", path: "/locked" }],
  ["super", { type: "setData", path: "/locked", data: enc.encode("by super"), version: -1 }],
  ["wrongSuper", { type: "getData", path: "/locked", watch: false }],
  ["super", { type: "whoAmI" }],
  ["owner", { type: "whoAmI" }],
  // READ without ADMIN: digest ids redacted.
  ["anon", create("/readable", [world(1), { perms: ALL, scheme: "digest", id: digestId(OWNER) }])],
  ["anon", { type: "getACL", path: "/readable" }],
  ["super", { type: "getACL", path: "/readable" }],
  // The lock-out: anyone may setACL "/" while it is world:anyone ALL.
  ["anon", { type: "setACL", path: "/", acl: ownerOnly, version: -1 }],
  ["anon", create("/after-lockout")],
  ["wrongSuper", create("/after-lockout")],
  ["super", { type: "setACL", path: "/", acl: [world(ALL)], version: -1 }],
  ["anon", create("/after-lockout")],
  ["super", { type: "delete", path: "/locked", version: -1 }],
  // /zookeeper/config is read-only.
  ["anon", { type: "getACL", path: "/zookeeper/config" }],
  ["anon", { type: "setData", path: "/zookeeper/config", data: enc.encode("server.1=evil"), version: -1 }],
  ["anon", { type: "setACL", path: "/zookeeper/config", acl: [world(ALL)], version: -1 }],
  ["anon", create("/zookeeper/config/child")],
  // Create flags: ZooKeeper's CreateMode.fromFlag knows 0..6 and checks the opcode's modes.
  ...[-1, 4, 5, 6, 7, 8, 100].map((flags): Step => ["anon", create(`/flags${flags}`, [world(ALL)], flags)]),
];

/** The parts of a reply both servers must agree on: the code and the body without zxids and times. */
function normal(r: ZkReply): unknown {
  const b = r.body as Record<string, unknown> | undefined;
  if (r.err !== 0 || !b) return codeName(r.err);
  switch (b.type) {
    case "getData":
      return { data: dec.decode(b.data as Uint8Array) };
    case "getACL":
      return { acl: b.acl, aversion: (b.stat as { aversion: number }).aversion };
    case "create":
      return { path: b.path };
    case "whoAmI":
      return { clientInfo: b.clientInfo };
    default:
      return "OK";
  }
}

interface Side {
  ports: number[];
  stop(): Promise<void>;
}

async function runScript(port: (who: Who) => number): Promise<unknown[]> {
  const clients = new Map<Who, ZkRawClient>();
  try {
    for (const who of ["anon", "super", "owner", "wrongSuper"] as const) {
      const c = await ZkRawClient.connect(HOST, port(who));
      clients.set(who, c);
      const cred = { anon: undefined, super: SUPER, owner: OWNER, wrongSuper: "super:guess" }[who];
      if (cred) expect((await c.request({ type: "auth", authType: 0, scheme: "digest", auth: enc.encode(cred) }, 10_000, AUTH_XID)).err).toBe(0);
    }
    const out: unknown[] = [];
    for (const [who, req] of SCRIPT) out.push(normal(await clients.get(who)!.request(req)));
    return out;
  } finally {
    for (const c of clients.values()) await c.close().catch(() => c.destroy());
  }
}

async function startZooKeeperWithSuper(): Promise<Side> {
  const root = mkdtempSync(join(tmpdir(), "zk-super-"));
  const port = await freePort(HOST);
  mkdirSync(join(root, "data"));
  writeZooCfg(join(root, "zoo.cfg"), { dataDir: join(root, "data"), clientPort: port, extra: ["forceSync=no"] });
  const log = { text: "" };
  const { child, exited } = spawnZooKeeper(STANDALONE_MAIN, join(root, "zoo.cfg"), log, ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dzookeeper.extendedTypesEnabled=true", `-Dzookeeper.DigestAuthenticationProvider.superDigest=${SUPER_DIGEST}`]);
  const stop = async () => {
    if (isRunning(child)) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while ((await fourLetter(port, "ruok", 500)) !== "imok") {
    if (!isRunning(child) || Date.now() > deadline) {
      await stop();
      throw new Error(`zookeeper did not start:\n${log.text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ports: [port], stop };
}

const unavailable = zookeeperJarUnavailable();
describe.skipIf(unavailable !== undefined)("super user and ACL hardening, Keeper against ZooKeeper 3.8", () => {
  let zk: Side | undefined;
  let keeper: Ensemble | undefined;
  beforeAll(async () => {
    // One after the other: a JVM and three nodes starting together overload two cores.
    zk = await startZooKeeperWithSuper();
    keeper = await startEnsemble({ size: 3, extraArgs: ["--super-digest", SUPER_DIGEST] });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([zk?.stop(), keeper?.cleanup()]);
  });

  it("answers the lock-out script exactly as ZooKeeper does, the super user's writes forwarded by a follower", async () => {
    const ports = await zkPorts(keeper!);
    const { node: leader } = await keeper!.waitForLeader();
    const follower = keeper!.nodes.find((n) => n.id !== leader.id)!;
    const expected = await runScript(() => zk!.ports[0]!);
    const actual = await runScript((who) => ports.get(who === "super" ? follower.id : leader.id)!);
    const rows = SCRIPT.map(([who, req], i) => ({ step: `${who} ${req.type} ${"path" in req ? req.path : ""}${"flags" in req ? ` flags ${req.flags}` : ""}`, zookeeper: expected[i], keeper: actual[i] }));
    const differing = rows.filter((r) => JSON.stringify(r.zookeeper) !== JSON.stringify(r.keeper));
    expect(differing).toEqual([]);
    // The script did what it is about: the lock-out happened and the super user undid it.
    expect(expected[SCRIPT.findIndex(([w, r]) => w === "anon" && r.type === "create" && r.path === "/after-lockout")]).toBe("NOAUTH");
    expect(expected.at(SCRIPT.findIndex(([w, r]) => w === "super" && r.type === "setACL"))).toBe("OK");
  }, 120_000);
});
