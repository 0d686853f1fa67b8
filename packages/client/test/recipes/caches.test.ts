import { describe, expect, it } from "vitest";
import { GroupMembership, NodeCache, TreeCache, type Member, type TreeCacheChange } from "../../src/index.ts";
import { client, factory, next, onCleanup, poll, Proxy, startKeeper } from "./support.ts";

const keeper = await startKeeper();
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const ids = (members: Member[]): string[] => members.map((m) => m.id);

function group(...args: ConstructorParameters<typeof GroupMembership>): GroupMembership {
  const g = new GroupMembership(...args);
  onCleanup(() => g.leave());
  return g;
}

describe("GroupMembership", () => {
  it("GroupMembership: members join with data, the live list follows joins and leaves", async () => {
    const path = "/groups/basic";
    const a = group(await client(keeper.address), path, { id: "a", data: "10.0.0.1" });
    const b = group(await client(keeper.address), path, { id: "b", data: "10.0.0.2" });
    const lists: string[][] = [];
    a.on("change", (m) => lists.push(ids(m)));
    await a.join();
    await b.join();
    await poll(() => a.list.length === 2, "a to see b");
    expect(a.list.map((m) => [m.id, text(m.data)])).toEqual([["a", "10.0.0.1"], ["b", "10.0.0.2"]]);
    expect(ids(await b.members())).toEqual(["a", "b"]);
    await b.leave();
    await poll(() => a.list.length === 1, "a to see b leave");
    expect(lists).toEqual([["a"], ["a", "b"], ["a"]]);
  });

  it("GroupMembership: a member whose session expires drops out of the others' list and rejoins with a factory", async () => {
    const path = "/groups/expiry";
    const proxy = await Proxy.start(() => keeper.port);
    const changes: string[][] = [];
    const sawLeave = () => changes.some((c) => c.length === 1);
    let made = 0;
    // The rejoin's client comes only once the watcher has seen flaky leave: a rejoin quicker
    // than the watcher's re-read would otherwise hide the leave from it (a watch fires once
    // per change it sees, never per intermediate state), and the test would race.
    const flaky = group(async () => {
      if (made++ === 0) return client(proxy.address, { sessionTimeoutMs: 600 });
      await poll(sawLeave, "watcher to see flaky leave");
      return client(keeper.address, { sessionTimeoutMs: 600 });
    }, path, { id: "flaky" });
    const watcher = group(factory(keeper.address), path, { id: "watcher" });
    await flaky.join();
    await watcher.join();
    await poll(() => watcher.list.length === 2, "both members");
    const expired = next(flaky, "expired");
    watcher.on("change", (m) => changes.push(ids(m)));
    proxy.cut();
    await expired;
    await poll(sawLeave, "watcher to see flaky leave");
    await poll(() => watcher.list.length === 2 && made === 2, "flaky to rejoin");
    await poll(() => flaky.list.length === 2, "flaky's rebuilt list");
  });

  it("GroupMembership.join() recognises its own node after a lost create reply", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const g = group(await client(proxy.address), "/groups/lost-reply", { id: "m" });
    await (await client(keeper.address)).create("/groups/lost-reply").catch(() => undefined);
    proxy.dropOnNextReply("/groups/lost-reply/m");
    await g.join();
    expect(proxy.replyDrops).toBe(1);
    expect(ids(g.list)).toEqual(["m"]);
  });
});

describe("NodeCache", () => {
  it("NodeCache follows create, update and delete, and re-reads after a dropped connection", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const writer = await client(keeper.address);
    await writer.create("/nc").catch(() => undefined);
    const cache = new NodeCache(await client(proxy.address), "/nc/flags");
    onCleanup(() => cache.close());
    const seen: Array<string | null> = [];
    cache.on("change", (n) => seen.push(n === null ? null : (text(n.data) ?? "")));
    await cache.start();
    expect(cache.current).toBeNull();
    await writer.create("/nc/flags", "v1");
    await poll(() => text(cache.current?.data) === "v1", "v1");
    await writer.setData("/nc/flags", "v2");
    await poll(() => text(cache.current?.data) === "v2", "v2");
    proxy.cut();
    await writer.setData("/nc/flags", "v3");
    proxy.restore();
    await poll(() => text(cache.current?.data) === "v3", "v3 after reconnect");
    await writer.delete("/nc/flags");
    await poll(() => cache.current === null, "deleted");
    expect(seen).toEqual(["v1", "v2", "v3", null]);
  });

  it("NodeCache on a factory rebuilds after session expiry", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const writer = await client(keeper.address);
    await writer.create("/nc-expiry", "a");
    let made = 0;
    const cache = new NodeCache(() => client(made++ === 0 ? proxy.address : keeper.address, { sessionTimeoutMs: 600 }), "/nc-expiry");
    onCleanup(() => cache.close());
    await cache.start();
    proxy.cut();
    await writer.setData("/nc-expiry", "b");
    await poll(() => made === 2 && text(cache.current?.data) === "b", "rebuilt with a new session");
    await writer.setData("/nc-expiry", "c");
    await poll(() => text(cache.current?.data) === "c", "watching with the new session");
  });
});

describe("TreeCache", () => {
  it("TreeCache mirrors a subtree: nested adds, updates, removals, with events", async () => {
    const writer = await client(keeper.address);
    await writer.create("/tc");
    await writer.create("/tc/a", "1");
    const cache = new TreeCache(await client(keeper.address), "/tc");
    onCleanup(() => cache.close());
    const events: string[] = [];
    cache.on("change", (c: TreeCacheChange) => events.push(`${c.type} ${c.path}`));
    await cache.start();
    expect(cache.nodes().map((n) => n.path)).toEqual(["/tc", "/tc/a"]);
    await writer.create("/tc/a/b", "2");
    await writer.create("/tc/a/b/c", "3");
    await poll(() => cache.get("/tc/a/b/c") !== undefined, "deep node");
    await writer.setData("/tc/a/b", "2'");
    await poll(() => text(cache.get("/tc/a/b")?.data) === "2'", "update");
    await writer.delete("/tc/a/b/c");
    await writer.delete("/tc/a/b");
    await poll(() => cache.get("/tc/a/b") === undefined, "removal");
    expect(cache.children("/tc/a")).toEqual([]);
    expect(events).toEqual(["added /tc", "added /tc/a", "added /tc/a/b", "added /tc/a/b/c", "updated /tc/a/b", "removed /tc/a/b/c", "removed /tc/a/b"]);
  });

  it("TreeCache catches up on changes made while it was disconnected, and rebuilds after expiry with a factory", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const writer = await client(keeper.address);
    await writer.create("/tc2");
    await writer.create("/tc2/x", "1");
    let made = 0;
    const cache = new TreeCache(() => client(made++ === 0 ? proxy.address : keeper.address, { sessionTimeoutMs: 600 }), "/tc2");
    onCleanup(() => cache.close());
    await cache.start();
    proxy.cut();
    await writer.create("/tc2/y", "2");
    await writer.delete("/tc2/x");
    await poll(() => made === 2 && cache.get("/tc2/y") !== undefined && cache.get("/tc2/x") === undefined, "rebuilt tree");
    await writer.create("/tc2/y/z", "3");
    await poll(() => cache.get("/tc2/y/z") !== undefined, "watching with the new session");
  });
});
