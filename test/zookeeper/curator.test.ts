// Apache Curator (Debian's libcurator-recipes-java 5.4 on ZooKeeper 3.8.0's Java client), a
// client nobody here wrote, against a 3-node Keeper ensemble of real processes. One small Java
// program (./curator/CuratorScenario.java), compiled once per run with javac against the Debian
// jars, runs every scenario in one JVM and prints a RESULT line that the tests assert on.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEnsemble, type Ensemble } from "../support/ensemble.ts";
import { tempDir } from "../support/processes.ts";
import { JAVA_DIR, connectString, killAll, requireFile, resultOf, run, sectionOf, start, zkPorts, type Run } from "../support/zk-tools.ts";

const SOURCE = join(import.meta.dirname, "curator", "CuratorScenario.java");
/** Debian's jars: Curator 5.4, ZooKeeper 3.8.0's client and jute, and what they need at run time. */
const JARS = ["curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute", "guava", "slf4j-api", "slf4j-nop"].map((j) => join(JAVA_DIR, `${j}.jar`));

describe("Curator against a 3-node Keeper ensemble", () => {
  let e: Ensemble;
  let out: ReturnType<typeof tempDir>;
  let scenario: Promise<Run>;
  let result: { sections: Record<string, any>; meta: Record<string, any> };

  beforeAll(async () => {
    requireFile("/usr/bin/javac", "default-jdk-headless");
    requireFile(join(JAVA_DIR, "curator-recipes.jar"), "libcurator-recipes-java");
    for (const j of JARS) requireFile(j, "libcurator-recipes-java");
    out = tempDir("keeper-curator-");
    const cp = JARS.join(":");
    // Compile while the ensemble starts: both take a second or two.
    const compiled = run("javac", ["-d", out.path, "-cp", cp, SOURCE], { timeoutMs: 60_000 });
    e = await startEnsemble({ size: 3 });
    const hosts = connectString(await zkPorts(e));
    const c = await compiled;
    if (c.code !== 0) throw new Error(`javac failed (${c.code}):\n${c.stdout}\n${c.stderr}`);
    const ports = await zkPorts(e);
    const java = start("java", ["-XX:TieredStopAtLevel=1", "-cp", `${out.path}:${cp}`, "CuratorScenario", hosts, "/curator", "--failover"], { timeoutMs: 90_000, stdin: true });
    scenario = java.done;
    // The last scenario names the server its client sits on; kill that node under it.
    const line = await java.waitForLine(/^KILL \d+$/, 80_000);
    const port = Number(line.split(" ")[1]);
    const victim = e.nodes.find((n) => ports.get(n.id) === port);
    if (!victim) throw new Error(`CuratorScenario is connected to ${port}, which is no node's zkPort (${JSON.stringify([...ports])})`);
    await victim.kill("SIGKILL");
    java.child.stdin!.write("KILLED\n");
    const r = await scenario;
    result = resultOf(r, "CuratorScenario");
    if (r.code !== 0) throw new Error(`CuratorScenario exited ${r.code}:\n${r.stderr}`);
  }, 120_000);

  afterAll(async () => {
    killAll();
    await e?.cleanup();
    out?.cleanup();
  });

  async function section(name: string) {
    return sectionOf(result, name, (await scenario).stderr);
  }

  it("uses ZooKeeper 3.8.0's client with persistent watchers available", () => {
    expect(result.meta.persistentWatchers).toBe(true);
    expect(result.meta.zookeeperVersion).toMatch(/^3\.8\.0/);
  });

  it("LeaderLatch: one leader that all agree on; leadership passes on close and on session end", async () => {
    const s = await section("leaderLatch");
    expect(s).toMatchObject({
      leaderCount: 1,
      allAgreeOnLeader: true,
      participants: 3,
      newLeaderDiffers: true,
      maxSimultaneousLeaders: 1,
      leadersInTurn: 3,
    });
    expect(s.leaderAfterClientClosed).toMatch(/^latch-[0-2]$/);
  });

  it("InterProcessMutex: mutual exclusion over 3 clients x 2 threads, reentrancy, timeouts", async () => {
    const s = await section("mutex");
    expect(s).toEqual({
      value: 30,
      expected: 30,
      acquisitions: 30,
      maxHolders: 1,
      reentrant: true,
      otherClientTimesOut: true,
      stillHeldAfterOneRelease: true,
      otherClientGetsIt: true,
      lockNodesLeft: 0,
    });
  });

  it("CuratorCache: sees creates, changes and deletes by other clients, a level deep too", async () => {
    const s = await section("cache");
    expect(s.initialSize).toBe(2);
    expect(s.content).toEqual({
      "/curator/cache": "root",
      "/curator/cache/before": "b1",
      "/curator/cache/eph": "e",
      "/curator/cache/x": "x2",
    });
    expect(s.ephemeralGone).toBe(true);
    expect(s.events).toEqual([
      "create /curator/cache root",
      "create /curator/cache/before b0",
      "create /curator/cache/x x1",
      "create /curator/cache/x/deep d1",
      "change /curator/cache/x x1->x2",
      "change /curator/cache/before b0->b1",
      "delete /curator/cache/x/deep",
      "create /curator/cache/eph e",
      "delete /curator/cache/eph",
    ]);
  });

  it("the ZooKeeper 3.8 Java API under Curator: create2, getEphemerals, getAllChildrenNumber, getChildren2, multi, multiRead, sync", async () => {
    const s = await section("api");
    expect(s).toMatchObject({
      create2: true,
      ephemerals: ["/curator-api/c2/e2-0000000000", "/curator-api/e1"],
      ephemeralsAll: 2,
      allChildrenNumber: 4,
      getChildren2: ["c2", "e1", "not-mine"],
      getChildren2NumChildren: 3,
      multi: ["CheckResult", "CreateResult", "SetDataResult"],
      multiRead: ["data:m2", "children:1", "error:-101"],
      syncRc: 0,
    });
  });

  it("addWatch PERSISTENT and PERSISTENT_RECURSIVE, removeWatches (checkWatches and removeAllWatches)", async () => {
    const s = await section("api");
    expect(s.persistent).toEqual([
      "NodeCreated /curator-api/pw",
      "NodeDataChanged /curator-api/pw",
      "NodeDataChanged /curator-api/pw",
      "NodeChildrenChanged /curator-api/pw",
      "PersistentWatchRemoved /curator-api/pw",
    ]);
    expect(s.removeMissingWatch).toBe("NOWATCHER");
    expect(s.recursive).toEqual([
      "NodeCreated /curator-api/rw",
      "NodeCreated /curator-api/rw/a",
      "NodeCreated /curator-api/rw/a/b",
      "NodeDataChanged /curator-api/rw/a/b",
      "NodeDeleted /curator-api/rw/a/b",
      "PersistentWatchRemoved /curator-api/rw",
    ]);
  });

  it("digest auth, whoAmI, getACL and setACL with versions; ACLs are enforced", async () => {
    const s = await section("api");
    expect(s.whoAmI).toEqual(["ip:127.0.0.1"]);
    // ZooKeeper 3.8 lists digest:alice first; the order is not part of the API.
    expect([...s.whoAmIAfterAuth].sort()).toEqual(["digest:alice", "ip:127.0.0.1"]);
    expect(s).toMatchObject({ getACL: true, aversion0: 0, setACLStale: "BADVERSION", setACLAversion: 1, getACLAfterSet: true });
    expect(s.unauthenticatedWrite).toBe("NOAUTH");
    expect(s.unauthenticatedRead).toBe("NOAUTH");
    expect(s.authenticatedWrite).toBe("ok");
  });

  it("containers are reaped once empty, TTL nodes once expired (createContainer, createTTL)", async () => {
    const s = await section("reaper");
    expect(s.ttlCreated).toBe(true);
    expect(s.containerReapedMs).toBeLessThan(20_000);
    expect(s.ttlExpiredMs).toBeLessThan(20_000);
  });

  it("a node killed under a client: the session and its watches (setWatches2) move to another node", async () => {
    const s = await section("failover");
    expect(s.sameSession).toBe(true);
    expect(s.movedServer).toBe(true);
    expect(s.states).toContain("SUSPENDED");
    expect(s.states).toContain("RECONNECTED");
    expect(s.states).not.toContain("LOST");
    expect(s.recursive, JSON.stringify(s)).toEqual([
      "NodeCreated /curator-failover/before",
      "NodeDataChanged /curator-failover",
      "NodeCreated /curator-failover/after",
      "NodeCreated /curator-failover/after/deep",
    ]);
    expect(s.oneShot).toEqual(["NodeDataChanged /curator-failover"]);
    expect(s.cacheSeesAfter).toBe("d");
  });
});
