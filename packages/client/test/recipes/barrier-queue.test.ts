import { describe, expect, it } from "vitest";
import { Barrier, DistributedQueue, DoubleBarrier, RecipeError } from "../../src/index.ts";
import { client, poll, Proxy, startKeeper } from "./support.ts";

const keeper = await startKeeper();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe("Barrier", () => {
  it("Barrier.wait() blocks while the barrier is set and returns when it is removed", async () => {
    const coordinator = new Barrier(await client(keeper.address), "/barriers/gate");
    await coordinator.set();
    await coordinator.set(); // idempotent
    const waiters = await Promise.all([0, 1].map(async () => new Barrier(await client(keeper.address), "/barriers/gate")));
    let passed = 0;
    const waits = waiters.map((w) => w.wait({ timeoutMs: 10_000 }).then(() => passed++));
    await expect(new Barrier(await client(keeper.address), "/barriers/gate").wait({ timeoutMs: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(passed).toBe(0);
    await coordinator.remove();
    await Promise.all(waits);
    expect(passed).toBe(2);
    await new Barrier(await client(keeper.address), "/barriers/gate").wait(); // not set: no wait
  });

  it("Barrier.wait() keeps waiting across a dropped connection", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const coordinator = new Barrier(await client(keeper.address), "/barriers/drop");
    await coordinator.set();
    const waiting = new Barrier(await client(proxy.address), "/barriers/drop").wait({ timeoutMs: 10_000 });
    proxy.cut();
    await coordinator.remove();
    proxy.restore();
    await waiting;
  });
});

describe("DoubleBarrier", () => {
  it("DoubleBarrier: nobody enters before all three arrived, nobody leaves before all three left", async () => {
    const path = "/barriers/double";
    const parts = await Promise.all([0, 1, 2].map(async (i) => new DoubleBarrier(await client(keeper.address), path, 3, { id: `p${i}` })));
    const log: string[] = [];
    const entered = parts.slice(0, 2).map((p) => p.enter({ timeoutMs: 10_000 }).then(() => log.push(`in ${p.id}`)));
    await poll(async () => (await (await client(keeper.address)).getChildren(path)).children.length === 2, "two waiting");
    expect(log).toEqual([]);
    await parts[2]!.enter({ timeoutMs: 10_000 });
    await Promise.all(entered);
    const left = parts.slice(0, 2).map((p) => p.leave({ timeoutMs: 10_000 }).then(() => log.push(`out ${p.id}`)));
    await poll(async () => (await (await client(keeper.address)).getChildren(path)).children.filter((c) => c !== "ready").length === 1, "two left");
    expect(log.filter((l) => l.startsWith("out"))).toEqual([]);
    await parts[2]!.leave({ timeoutMs: 10_000 });
    await Promise.all(left);
    expect(log.filter((l) => l.startsWith("out")).sort()).toEqual(["out p0", "out p1"]);
    expect((await (await client(keeper.address)).getChildren(path)).children).toEqual([]);
  });

  it("DoubleBarrier.enter() times out and withdraws", async () => {
    const b = new DoubleBarrier(await client(keeper.address), "/barriers/double-timeout", 2, { id: "lonely" });
    await expect(b.enter({ timeoutMs: 100 })).rejects.toBeInstanceOf(RecipeError);
    await poll(async () => (await (await client(keeper.address)).getChildren("/barriers/double-timeout")).children.length === 0, "withdrawn");
  });
});

describe("DistributedQueue", () => {
  it("DistributedQueue is FIFO; peek and poll do not wait on an empty queue", async () => {
    const q = new DistributedQueue(await client(keeper.address), "/queues/fifo");
    expect(await q.peek()).toBeNull();
    expect(await q.poll()).toBeNull();
    for (const s of ["a", "b", "c"]) await q.offer(s);
    expect(text((await q.peek())!.data)).toBe("a");
    expect(text((await q.poll())!.data)).toBe("a");
    expect(text((await q.take())!.data)).toBe("b");
    expect(text((await q.poll({ timeoutMs: 1_000 }))!.data)).toBe("c");
    expect(await q.poll({ timeoutMs: 50 })).toBeNull();
    await expect(q.take({ timeoutMs: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("DistributedQueue: racing consumers on three clients get every item exactly once; take() waits for producers", async () => {
    const path = "/queues/race";
    const producer = new DistributedQueue(await client(keeper.address), path);
    const consumers = await Promise.all([0, 1, 2].map(async () => new DistributedQueue(await client(keeper.address), path)));
    const got: string[] = [];
    const count = 30;
    const runs = consumers.map(async (c) => {
      for (;;) {
        const item = await c.take({ timeoutMs: 10_000 });
        const v = text(item.data);
        if (v === "stop") return;
        got.push(v);
      }
    });
    for (let i = 0; i < count; i++) await producer.offer(String(i));
    for (let i = 0; i < consumers.length; i++) await producer.offer("stop");
    await Promise.all(runs);
    expect(got.map(Number).sort((a, b) => a - b)).toEqual([...Array(count).keys()]);
    expect((await (await client(keeper.address)).getChildren(path)).children).toEqual([]);
  });

  it("DistributedQueue: a lost reply neither duplicates an offer nor loses a take", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const q = new DistributedQueue(await client(proxy.address), "/queues/lost-reply");
    await q.offer("warm-up");
    proxy.dropOnNextReply("/queues/lost-reply/_c_");
    await q.offer("x");
    expect(proxy.replyDrops).toBe(1);
    expect((await (await client(keeper.address)).getChildren("/queues/lost-reply")).children).toHaveLength(2);
    expect(text((await q.take()).data)).toBe("warm-up");
    proxy.dropOnNextReply("/queues/lost-reply/_claim_");
    expect(text((await q.take()).data)).toBe("x");
    expect(proxy.replyDrops).toBe(2);
    expect((await (await client(keeper.address)).getChildren("/queues/lost-reply")).children).toEqual([]);
  });
});
