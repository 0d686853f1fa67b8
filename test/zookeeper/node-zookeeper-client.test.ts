// node-zookeeper-client (npm), a ZooKeeper client nobody here wrote, against a 3-node Keeper
// ensemble of real processes: create, getData with a watch, setData, ephemeral and sequential
// nodes, and transactions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll, sleep, startEnsemble, type Ensemble } from "../support/ensemble.ts";
import { CreateMode, NzcClient, errName, nextEvent, nzc } from "../support/zk-node-client.ts";
import { connectString, fourLetterWord, zkPorts } from "../support/zk-tools.ts";

describe("node-zookeeper-client against a 3-node Keeper ensemble", () => {
  let e: Ensemble;
  let hosts: string;
  let ports: Map<number, number>;
  const clients: NzcClient[] = [];

  async function client(cs = hosts): Promise<NzcClient> {
    const c = await NzcClient.connect(cs);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    e = await startEnsemble({ size: 3 });
    ports = await zkPorts(e);
    hosts = connectString(ports);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await e?.cleanup();
  });

  /** Polls until `path` exists as `c` sees it (node-zookeeper-client has no sync). */
  function seen(c: NzcClient, path: string) {
    return poll(() => c.exists(path), { timeoutMs: 5_000, what: `${path} on the reader's node` });
  }

  it("create, getData, setData with versions, getChildren, remove", async () => {
    const c = await client();
    expect(await c.create("/nzc", Buffer.from("v0"))).toBe("/nzc");
    expect(await errName(c.create("/nzc", Buffer.from("again")))).toBe("NODE_EXISTS");
    const { data, stat } = await c.getData("/nzc");
    expect(data?.toString()).toBe("v0");
    expect(stat).toMatchObject({ version: 0, cversion: 0, dataLength: 2, numChildren: 0 });
    expect((await c.setData("/nzc", Buffer.from("v1"), 0)).version).toBe(1);
    expect(await errName(c.setData("/nzc", Buffer.from("stale"), 0))).toBe("BAD_VERSION");
    expect((await c.getData("/nzc")).data?.toString()).toBe("v1");
    await c.create("/nzc/a");
    await c.create("/nzc/b", Buffer.from("b"));
    const kids = await c.getChildren("/nzc");
    expect(kids.children.sort()).toEqual(["a", "b"]);
    expect(kids.stat.numChildren).toBe(2);
    expect(await errName(c.remove("/nzc"))).toBe("NOT_EMPTY");
    expect(await errName(c.remove("/nzc/a", 5))).toBe("BAD_VERSION");
    await c.remove("/nzc/a", 0);
    expect(await c.exists("/nzc/a")).toBeNull();
    expect(await errName(c.getData("/nzc/a"))).toBe("NO_NODE");
    expect(await c.mkdirp("/nzc/deep/er/path")).toBe("/nzc/deep/er/path");
    expect((await c.exists("/nzc/deep/er"))?.numChildren).toBe(1);
  });

  it("getData with a watch fires NODE_DATA_CHANGED once, then NODE_DELETED, for another client's writes", async () => {
    const watcher = await client();
    const writer = await client();
    await writer.create("/nzc-watch", Buffer.from("w0"));
    // The two clients may sit on different nodes, and (as in ZooKeeper) another node may apply
    // a write a moment after the writer's reply: wait until the watcher's node has it.
    await seen(watcher, "/nzc-watch");
    const w1 = nextEvent();
    expect((await watcher.getData("/nzc-watch", w1.watcher)).data?.toString()).toBe("w0");
    await writer.setData("/nzc-watch", Buffer.from("w1"));
    expect(await w1.event).toEqual({ name: "NODE_DATA_CHANGED", path: "/nzc-watch" });
    const w2 = nextEvent();
    expect((await watcher.getData("/nzc-watch", w2.watcher)).data?.toString()).toBe("w1");
    await writer.remove("/nzc-watch");
    expect(await w2.event).toEqual({ name: "NODE_DELETED", path: "/nzc-watch" });
    // exists on a missing node watches for its creation; getChildren watches the child list.
    const w3 = nextEvent();
    expect(await watcher.exists("/nzc-watch", w3.watcher)).toBeNull();
    await writer.create("/nzc-watch");
    expect(await w3.event).toEqual({ name: "NODE_CREATED", path: "/nzc-watch" });
    const w4 = nextEvent();
    await watcher.getChildren("/nzc-watch", w4.watcher);
    await writer.create("/nzc-watch/kid");
    expect(await w4.event).toEqual({ name: "NODE_CHILDREN_CHANGED", path: "/nzc-watch" });
  });

  it("ephemeral nodes belong to the session and go when it closes", async () => {
    const owner = await client();
    const observer = await client();
    await observer.create("/nzc-eph");
    expect(await owner.create("/nzc-eph/e", Buffer.from("x"), CreateMode.EPHEMERAL)).toBe("/nzc-eph/e");
    const st = await seen(observer, "/nzc-eph/e");
    expect(st!.ephemeralOwner.toString("hex")).toBe(owner.sessionId);
    expect(await errName(owner.create("/nzc-eph/e/child"))).toBe("NO_CHILDREN_FOR_EPHEMERALS");
    const gone = nextEvent();
    await observer.exists("/nzc-eph/e", gone.watcher);
    await owner.close();
    expect(await gone.event).toEqual({ name: "NODE_DELETED", path: "/nzc-eph/e" });
    expect(await observer.exists("/nzc-eph/e")).toBeNull();
  });

  it("sequential and ephemeral sequential nodes number from the parent's child count", async () => {
    const c = await client();
    await c.create("/nzc-seq");
    const made = [
      await c.create("/nzc-seq/job-", null, CreateMode.PERSISTENT_SEQUENTIAL),
      await c.create("/nzc-seq/job-", null, CreateMode.PERSISTENT_SEQUENTIAL),
      await c.create("/nzc-seq/lock-", null, CreateMode.EPHEMERAL_SEQUENTIAL),
      await c.create("/nzc-seq/job-", null, CreateMode.PERSISTENT_SEQUENTIAL),
    ];
    expect(made).toEqual(["/nzc-seq/job-0000000000", "/nzc-seq/job-0000000001", "/nzc-seq/lock-0000000002", "/nzc-seq/job-0000000003"]);
    expect((await c.exists("/nzc-seq/lock-0000000002"))!.ephemeralOwner.toString("hex")).toBe(c.sessionId);
    expect((await c.exists("/nzc-seq/job-0000000000"))!.ephemeralOwner.toString("hex")).toBe("0000000000000000");
  });

  it("transactions: applied as a whole, or not at all with the failing op's error", async () => {
    const c = await client();
    await c.create("/nzc-tx", Buffer.from("t0"));
    const ok = await c.commit(c.transaction().create("/nzc-tx/a", Buffer.from("A")).create("/nzc-tx/s-", null, CreateMode.PERSISTENT_SEQUENTIAL).setData("/nzc-tx", Buffer.from("t1")).check("/nzc-tx", 1).remove("/nzc-tx/a"));
    const OP = { create: 1, delete: 2, setData: 5, check: 13 };
    expect(ok.map((r) => r.type)).toEqual([OP.create, OP.create, OP.setData, OP.check, OP.delete]);
    expect(ok[0]!.path).toBe("/nzc-tx/a");
    expect(ok[1]!.path).toBe("/nzc-tx/s-0000000001");
    expect(ok[2]!.stat!.version).toBe(1);
    expect((await c.getChildren("/nzc-tx")).children).toEqual(["s-0000000001"]);

    let failure: (Error & { results?: Array<{ type: number; err?: number }> }) | undefined;
    try {
      // (The library sends version 0 in a transaction as -1, "any": `version || -1`. So the
      // failing op is a check with a version the node does not have.)
      await c.commit(c.transaction().create("/nzc-tx/b").check("/nzc-tx", 7).setData("/nzc-tx", Buffer.from("never")).remove("/nzc-tx/s-0000000001"));
    } catch (err) {
      failure = err as typeof failure;
    }
    expect(failure && (failure as unknown as { getName(): string }).getName()).toBe("BAD_VERSION");
    expect(failure!.results!.map((r) => r.err)).toEqual([nzc.Exception.OK, nzc.Exception.BAD_VERSION, nzc.Exception.RUNTIME_INCONSISTENCY, nzc.Exception.RUNTIME_INCONSISTENCY]);
    expect(await c.exists("/nzc-tx/b")).toBeNull();
    expect((await c.getData("/nzc-tx")).data?.toString()).toBe("t1");
    expect((await c.getChildren("/nzc-tx")).children).toEqual(["s-0000000001"]);
  });

  it("each node serves the same data: a client pinned to each node reads the others' writes", async () => {
    const pinned = await Promise.all([...ports.keys()].map((id) => client(connectString(ports, [id]))));
    await pinned[0]!.create("/nzc-pinned", Buffer.from("from-1"));
    for (const [i, c] of pinned.entries()) {
      if (i > 0) await c.setData("/nzc-pinned", Buffer.from(`from-${i + 1}`), i - 1);
    }
    // Each client sees at least its own write (a ZooKeeper follower may lag the others').
    const seen = await Promise.all(pinned.map((c) => poll(async () => ((await c.getData("/nzc-pinned")).data?.toString() === "from-3" ? true : undefined), { timeoutMs: 5_000 })));
    expect(seen).toEqual([true, true, true]);
  });

  it("the node under a watching client is SIGKILLed: the session resumes elsewhere and its watches (setWatches) still fire", async () => {
    const watcher = await client();
    const writer = await client();
    await writer.create("/nzc-fo");
    await writer.create("/nzc-fo/a", Buffer.from("a0"));
    await seen(watcher, "/nzc-fo/a");
    const data = nextEvent();
    const created = nextEvent();
    const children = nextEvent();
    await watcher.getData("/nzc-fo/a", data.watcher);
    expect(await watcher.exists("/nzc-fo/b", created.watcher)).toBeNull();
    await watcher.getChildren("/nzc-fo", children.watcher);
    // Which node is the watcher on? `cons` lists each connection's session id.
    const sid = `sid=0x${BigInt("0x" + watcher.sessionId).toString(16)})`;
    let victimId: number | undefined;
    for (const [id, port] of ports) if ((await fourLetterWord(port, "cons")).includes(sid)) victimId = id;
    expect(victimId, "the node holding the watcher's connection").toBeDefined();
    const states: string[] = [];
    watcher.raw.on("disconnected", () => states.push("disconnected"));
    const reconnected = new Promise<void>((resolve) => watcher.raw.on("connected", () => (states.push("connected"), resolve())));
    const sessionBefore = watcher.sessionId;
    await e.node(victimId!).kill("SIGKILL");
    await Promise.race([reconnected, sleep(20_000)]);
    expect(states).toEqual(["disconnected", "connected"]);
    expect(watcher.sessionId).toBe(sessionBefore);
    // The writer may have been on the killed node too; its calls wait for its reconnection.
    await poll(async () => (await writer.exists("/nzc-fo")) !== null, { timeoutMs: 20_000, what: "the writer back" });
    await writer.setData("/nzc-fo/a", Buffer.from("a1"));
    await writer.create("/nzc-fo/b");
    const events = await Promise.race([Promise.all([data.event, created.event, children.event]), sleep(10_000).then(() => "no events within 10 s")]);
    expect(events).toEqual([
      { name: "NODE_DATA_CHANGED", path: "/nzc-fo/a" },
      { name: "NODE_CREATED", path: "/nzc-fo/b" },
      { name: "NODE_CHILDREN_CHANGED", path: "/nzc-fo" },
    ]);
    expect((await watcher.getData("/nzc-fo/a")).data?.toString()).toBe("a1");
  }, 60_000);
});
