import { describe, expect, it } from "vitest";
import { LeaderElection, RecipeError, type FollowerInfo } from "../../src/index.ts";
import { client, factory, next, onCleanup, poll, Proxy, startKeeper } from "./support.ts";

const keeper = await startKeeper();

function election(source: ConstructorParameters<typeof LeaderElection>[0], path: string, id: string): LeaderElection {
  const e = new LeaderElection(source, path, { id });
  onCleanup(() => e.stop());
  return e;
}

describe("LeaderElection", () => {
  it("LeaderElection elects one leader and hands over to the next candidate in order, waking only it", async () => {
    const path = "/le/order";
    const [a, b, c] = [election(await client(keeper.address), path, "a"), election(await client(keeper.address), path, "b"), election(await client(keeper.address), path, "c")];
    const seen: string[] = [];
    for (const [e, id] of [[a, "a"], [b, "b"], [c, "c"]] as const) {
      e.on("leader", () => seen.push(`${id}:leader`)).on("follower", (info) => seen.push(`${id}:follower:${info.reason}`));
    }
    await a.start();
    await b.start();
    await c.start();
    expect([a.isLeader, b.isLeader, c.isLeader]).toEqual([true, false, false]);
    expect(new TextDecoder().decode(await c.leaderData())).toBe("a");
    await a.stop();
    await poll(() => b.isLeader, "b to lead");
    // c watches b, not a: a's departure did not wake it.
    expect(c.isLeader).toBe(false);
    await b.stop();
    await poll(() => c.isLeader, "c to lead");
    expect(seen).toEqual(["a:leader", "b:follower:candidate", "c:follower:candidate", "a:follower:stopped", "b:leader", "b:follower:stopped", "c:leader"]);
  });

  it("LeaderElection watches only the predecessor (no herd effect)", async () => {
    const path = "/le/herd";
    const infos: FollowerInfo[] = [];
    const all = [];
    for (const id of ["a", "b", "c", "d"]) {
      const e = election(await client(keeper.address), path, id);
      e.on("follower", (i) => infos.push(i));
      await e.start();
      all.push(e);
    }
    const nodes = all.map((e) => e.candidatePath);
    expect(infos.map((i) => i.predecessor)).toEqual(nodes.slice(0, 3));
  });

  it("LeaderElection finds its own candidate node when the create's reply is lost (protected create)", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const c = await client(proxy.address);
    const e = election(c, "/le/protected", "a");
    proxy.dropOnNextReply("/le/protected/_c_");
    await e.start();
    expect(proxy.replyDrops).toBe(1);
    expect(e.isLeader).toBe(true);
    const observer = await client(keeper.address);
    expect((await observer.getChildren("/le/protected")).children).toHaveLength(1);
  });

  it("LeaderElection keeps leadership across a dropped connection", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const a = election(await client(proxy.address), "/le/drop", "a");
    const b = election(await client(keeper.address), "/le/drop", "b");
    await a.start();
    await b.start();
    const lost: unknown[] = [];
    a.on("follower", (i) => lost.push(i));
    proxy.drop();
    await poll(async () => (await b.leaderData()) !== undefined && a.candidatePath !== undefined, "a reconnected");
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    expect(lost).toEqual([]);
  });

  it("LeaderElection reports lost leadership on session expiry, a follower takes over, and a factory rejoins", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    let made = 0;
    // The first session goes through the proxy (to be cut); the rejoin connects directly.
    const a = election(() => client(made++ === 0 ? proxy.address : keeper.address, { sessionTimeoutMs: 600 }), "/le/expiry", "a");
    const b = election(factory(keeper.address), "/le/expiry", "b");
    await a.start();
    await b.start();
    expect(a.isLeader).toBe(true);
    const lost = next<[FollowerInfo]>(a, "follower");
    proxy.cut();
    expect((await lost)[0].reason).toBe("sessionExpired");
    await poll(() => b.isLeader, "b to take over");
    await poll(() => made === 2 && a.candidatePath !== undefined, "a to rejoin");
    expect(a.isLeader).toBe(false);
    await b.stop();
    await poll(() => a.isLeader, "a to lead again with its new session");
  });

  it("LeaderElection on a plain client reports SESSION_EXPIRED and stops", async () => {
    const proxy = await Proxy.start(() => keeper.port);
    const a = election(await client(proxy.address, { sessionTimeoutMs: 600 }), "/le/plain", "a");
    await a.start();
    const error = next<[Error]>(a, "error");
    const lost = next<[FollowerInfo]>(a, "follower");
    proxy.cut();
    expect((await lost)[0].reason).toBe("sessionExpired");
    const [e] = await error;
    expect(e).toBeInstanceOf(RecipeError);
    expect((e as RecipeError).code).toBe("SESSION_EXPIRED");
    expect(a.isLeader).toBe(false);
  });

  it("LeaderElection: a follower waiting through a server restart takes over afterwards", async () => {
    const own = await startKeeper();
    const a = election(await client(own.address), "/le/restart", "a");
    const b = election(await client(own.address), "/le/restart", "b");
    await a.start();
    await b.start();
    await own.restart();
    await a.stop();
    await poll(() => b.isLeader, "b to lead after the restart");
  });
});
