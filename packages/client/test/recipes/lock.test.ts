import { describe, expect, it } from "vitest";
import { Lock, ReadWriteLock, RecipeError } from "../../src/index.ts";
import { client, next, poll, Proxy, startKeeper } from "./support.ts";

const keeper = await startKeeper();

async function children(path: string): Promise<string[]> {
  return (await (await client(keeper.address)).getChildren(path)).children;
}

describe("Lock", () => {
  it("Lock excludes: contenders on three clients never overlap and are served in arrival order", async () => {
    const path = "/locks/mutex";
    const locks = await Promise.all([0, 1, 2].map(async () => new Lock(await client(keeper.address), path)));
    let inside = 0;
    let overlap = false;
    const order: number[] = [];
    await locks[0]!.acquire();
    const waiting = locks.slice(1).map((l, i) =>
      (async () => {
        await l.withLock(async () => {
          inside++;
          if (inside > 1) overlap = true;
          order.push(i + 1);
          await new Promise((r) => setTimeout(r, 10));
          inside--;
        });
      })(),
    );
    await poll(async () => (await children(path)).length === 3, "three contenders");
    expect(locks[1]!.isHeld || locks[2]!.isHeld).toBe(false);
    await locks[0]!.release();
    await Promise.all(waiting);
    expect(overlap).toBe(false);
    expect(order).toEqual([1, 2]);
    expect(await children(path)).toEqual([]);
  });

  it("Lock.acquire() times out with RecipeError TIMEOUT and removes its node; abort rejects with the reason", async () => {
    const path = "/locks/timeout";
    const holder = new Lock(await client(keeper.address), path);
    await holder.acquire();
    const waiter = new Lock(await client(keeper.address), path);
    const err = await waiter.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecipeError);
    expect((err as RecipeError).code).toBe("TIMEOUT");
    const ctl = new AbortController();
    const aborted = waiter.acquire({ signal: ctl.signal });
    await poll(async () => (await children(path)).length === 2, "waiter queued");
    ctl.abort(new Error("no longer needed"));
    await expect(aborted).rejects.toThrow("no longer needed");
    await poll(async () => (await children(path)).length === 1, "abandoned nodes removed");
    await expect(waiter.release()).rejects.toMatchObject({ code: "NOT_HELD" });
    await holder.release();
  });

  it("Lock adopts its own node when the create's reply is lost (protected create)", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const lock = new Lock(await client(proxy.address), "/locks/protected");
    await ensure("/locks/protected");
    proxy.dropOnNextReply("/locks/protected/_c_");
    await lock.acquire({ timeoutMs: 5_000 });
    expect(proxy.replyDrops).toBe(1);
    expect(await children("/locks/protected")).toHaveLength(1);
    await lock.release();
  });

  it("Lock: a waiter keeps its place through a server restart and gets the lock when the holder releases", async () => {
    const own = await startKeeper();
    const holder = new Lock(await client(own.address), "/locks/restart");
    const waiter = new Lock(await client(own.address), "/locks/restart");
    await holder.acquire();
    const acquired = waiter.acquire({ timeoutMs: 10_000 });
    await poll(async () => (await (await client(own.address)).getChildren("/locks/restart")).children.length === 2, "waiter queued");
    await own.restart();
    await holder.release();
    await acquired;
    expect(waiter.isHeld).toBe(true);
  });

  it("Lock: the holder's session expires -> 'lost' is emitted, withLock's signal aborts, the next waiter gets it", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const holder = new Lock(await client(proxy.address, { sessionTimeoutMs: 600 }), "/locks/expiry");
    const waiter = new Lock(await client(keeper.address), "/locks/expiry");
    let signal: AbortSignal | undefined;
    const lost = next<[RecipeError]>(holder, "lost");
    const work = holder.withLock(async (s) => {
      signal = s;
      await new Promise((resolve) => s.addEventListener("abort", resolve));
      return "aborted";
    });
    await poll(() => holder.isHeld, "holder holds");
    const acquired = waiter.acquire({ timeoutMs: 10_000 });
    proxy.cut();
    const [error] = await lost;
    expect(error.code).toBe("SESSION_EXPIRED");
    expect(await work).toBe("aborted");
    expect(signal?.aborted).toBe(true);
    expect(holder.isHeld).toBe(false);
    await acquired;
    expect(waiter.isHeld).toBe(true);
  });

  it("Lock.acquire() waiting on an expired session rejects with SESSION_EXPIRED", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const holder = new Lock(await client(keeper.address), "/locks/expiry-waiting");
    await holder.acquire();
    const waiter = new Lock(await client(proxy.address, { sessionTimeoutMs: 600 }), "/locks/expiry-waiting");
    const acquired = waiter.acquire();
    await poll(async () => (await children("/locks/expiry-waiting")).length === 2, "waiter queued");
    proxy.cut();
    await expect(acquired).rejects.toMatchObject({ code: "SESSION_EXPIRED" });
    await poll(async () => (await children("/locks/expiry-waiting")).length === 1, "waiter's node gone with its session");
  });
});

describe("ReadWriteLock", () => {
  it("ReadWriteLock shares reads, excludes writes, and queues a reader behind a waiting writer", async () => {
    const path = "/locks/rw";
    const [r1, r2, w, r3] = await Promise.all([0, 1, 2, 3].map(async () => new ReadWriteLock(await client(keeper.address), path)));
    await r1!.readLock.acquire();
    await r2!.readLock.acquire({ timeoutMs: 2_000 });
    const writer = w!.writeLock.acquire({ timeoutMs: 10_000 });
    await poll(async () => (await children(path)).length === 3, "writer queued");
    const lateReader = r3!.readLock.acquire({ timeoutMs: 10_000 });
    await poll(async () => (await children(path)).length === 4, "late reader queued");
    expect(w!.writeLock.isHeld).toBe(false);
    await r1!.readLock.release();
    expect(w!.writeLock.isHeld).toBe(false);
    await r2!.readLock.release();
    await writer;
    expect(r3!.readLock.isHeld).toBe(false);
    await w!.writeLock.release();
    await lateReader;
    expect(r3!.readLock.isHeld).toBe(true);
    await r3!.readLock.release();
  });
});

async function ensure(path: string): Promise<void> {
  const c = await client(keeper.address);
  let at = "";
  for (const part of path.split("/").slice(1)) {
    at += `/${part}`;
    await c.create(at).catch(() => undefined);
  }
}
