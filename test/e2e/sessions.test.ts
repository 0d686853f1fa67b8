// Sessions against a real server process: expiry deletes ephemerals and fires watches,
// closeSession deletes them at once, a session can be resumed from another connection by id
// and password, an expired or closed one cannot, sessions outlive a server restart, and the
// negotiated timeout is clamped to the server's bounds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, EventType, connect, type KeeperClient, type WatchEvent } from "@keeper/client";
import { freePort } from "../support/processes.ts";
import { Harness, codeOf, socketControl, waitFor, waitForState, type ServerNode } from "../support/harness.ts";

const MIN_TIMEOUT = 400;
const MAX_TIMEOUT = 8_000;
const TICK = 100;
const eventName = (type: number): string => Object.entries(EventType).find(([, v]) => v === type)?.[0] ?? String(type);
const fmt = (e: WatchEvent): string => `${eventName(e.type)} ${e.path}`;

describe("sessions (e2e)", () => {
  const h = new Harness();
  let server: ServerNode;
  let observer: KeeperClient;

  beforeAll(async () => {
    server = await h.startServer(["--min-session-timeout-ms", String(MIN_TIMEOUT), "--max-session-timeout-ms", String(MAX_TIMEOUT), "--tick-ms", String(TICK)]);
    observer = await h.connect(server, { sessionTimeoutMs: MAX_TIMEOUT });
  });
  afterAll(() => h.cleanup());

  const children = async (path: string): Promise<string[]> => (await observer.getChildren(path)).children;

  it("an expired session's ephemerals vanish within the timeout plus a few ticks, and watchers hear NodeDeleted", async () => {
    await observer.create("/exp", "");
    const ctl = socketControl();
    const victim = await h.connect(server, { sessionTimeoutMs: MIN_TIMEOUT, WebSocket: ctl.WebSocket });
    expect(victim.negotiatedTimeoutMs).toBe(MIN_TIMEOUT);
    await victim.create("/exp/e1", "1", { ephemeral: true });
    await victim.create("/exp/e2", "2", { ephemeral: true });
    const seq = await victim.create("/exp/s-", "", { mode: "ephemeral_sequential" });
    expect((await children("/exp")).sort()).toEqual(["e1", "e2", seq.slice("/exp/".length)].sort());
    const sessionsBefore = (await server.status()).sessions;

    const events: string[] = [];
    const rec = (e: WatchEvent): void => void events.push(fmt(e));
    await observer.exists("/exp/e1", { watch: rec });
    await observer.getData("/exp/e2", { watch: rec });
    await observer.getChildren("/exp", { watch: rec });

    // Cut the victim off abruptly: no closeSession, and no way back.
    ctl.block();
    const cutAt = Date.now();
    ctl.dropAll();
    await waitFor(async () => (await children("/exp")).length === 0, { timeoutMs: 10_000, intervalMs: 10, what: "the ephemerals to vanish" });
    const elapsed = Date.now() - cutAt;
    // Not before the session could have timed out: the server expires it no sooner than the
    // timeout after its last touch, and the client's last ping was at most a third of the
    // timeout (plus its 33 ms heartbeat timer, plus scheduling) before the cut. And well within
    // timeout + a few ticks (generous for slow CI).
    expect(elapsed).toBeGreaterThanOrEqual(MIN_TIMEOUT - MIN_TIMEOUT / 3 - 100);
    expect(elapsed).toBeLessThan(MIN_TIMEOUT + 10 * TICK + 2_000);

    await waitFor(() => events.length >= 3, { what: "the watch events" });
    expect([...events].sort()).toEqual(["NodeChildrenChanged /exp", "NodeDeleted /exp/e1", "NodeDeleted /exp/e2"]);
    expect((await server.status()).sessions).toBe(sessionsBefore - 1);

    // The client notices on its own that its session is gone.
    await waitForState(victim, "expired", 5_000);
    expect(await codeOf(victim.getData("/exp"))).toBe(Code.SESSIONEXPIRED);

    // Nobody can resume it.
    expect(await codeOf(connect(server.connectString, { sessionId: victim.sessionId, sessionPassword: victim.sessionPassword, connectTimeoutMs: 5_000 }))).toBe(Code.SESSIONEXPIRED);
  });

  it("close() ends the session: its ephemerals are gone before close() resolves", async () => {
    const c = await h.connect(server, { sessionTimeoutMs: MAX_TIMEOUT });
    await observer.create("/closing", "");
    await c.create("/closing/e", "", { ephemeral: true });
    await c.create("/closing/s-", "", { mode: "ephemeral_sequential" });
    await c.create("/closing/persistent", "");
    const events: string[] = [];
    await observer.exists("/closing/e", { watch: (e) => events.push(fmt(e)) });
    const { sessionId, sessionPassword } = c;

    await c.close();
    expect(c.state).toBe("closed");
    // No polling: the very next read by anyone shows the ephemerals gone.
    expect(await children("/closing")).toEqual(["persistent"]);
    expect(events).toEqual(["NodeDeleted /closing/e"]);
    expect(await codeOf(c.getData("/closing"))).toBe(Code.CONNECTIONLOSS);
    await c.close(); // twice is fine
    expect(await codeOf(connect(server.connectString, { sessionId, sessionPassword, connectTimeoutMs: 5_000 }))).toBe(Code.SESSIONEXPIRED);
  });

  it("a session is resumed from a new connection with its id and password; its ephemerals stay", async () => {
    const ctl = socketControl();
    const first = await h.connect(server, { sessionTimeoutMs: 5_000, WebSocket: ctl.WebSocket });
    await first.create("/resume-e", "mine", { ephemeral: true });
    const { sessionId, sessionPassword } = first;
    expect(sessionId).toBeGreaterThan(0);
    expect(sessionPassword.length).toBeGreaterThan(0);

    ctl.block();
    ctl.dropAll();
    await waitFor(() => first.state === "disconnected", { what: "the first client to lose its socket" });

    // A wrong password is refused and does not harm the session.
    const wrong = new Uint8Array(sessionPassword);
    wrong[0] = wrong[0]! ^ 0xff;
    expect(await codeOf(connect(server.connectString, { sessionId, sessionPassword: wrong, connectTimeoutMs: 5_000 }))).toBe(Code.SESSIONEXPIRED);

    const second = await h.connect(server, { sessionId, sessionPassword, sessionTimeoutMs: 5_000 });
    expect(second.sessionId).toBe(sessionId);
    expect(second.negotiatedTimeoutMs).toBe(5_000);
    const stat = await second.exists("/resume-e");
    expect(stat).not.toBeNull();
    expect(stat!.ephemeralOwner).toBe(sessionId);
    // The resumed session owns new ephemerals under the same id.
    const more = await second.createWithStat("/resume-e2", "", { ephemeral: true });
    expect(more.stat.ephemeralOwner).toBe(sessionId);
    // It outlives the original client's own give-up (that client never reaches the server).
    await first.close();
    expect(await observer.exists("/resume-e")).not.toBeNull();

    await second.close();
    expect(await observer.exists("/resume-e")).toBeNull();
    expect(await observer.exists("/resume-e2")).toBeNull();
  });

  it("a session survives a server restart (SIGTERM) within its timeout, ephemerals included", async () => {
    const c = await h.connect(server, { sessionTimeoutMs: 6_000 });
    const sessionId = c.sessionId;
    await c.create("/survivor", "", { ephemeral: true });
    const disconnected = waitForState(c, "disconnected", 10_000);
    await server.restart("SIGTERM");
    await disconnected;
    await waitForState(c, "connected", 10_000);
    expect(c.sessionId).toBe(sessionId);

    const fresh = await h.connect(server);
    const stat = await fresh.exists("/survivor");
    expect(stat).not.toBeNull();
    expect(stat!.ephemeralOwner).toBe(sessionId);
    // Still fully usable.
    await c.setData("/survivor", "after restart");
    await c.close();
    expect(await fresh.exists("/survivor")).toBeNull();
    // The observer (whose session also lived through the restart) is back as well.
    await waitForState(observer, "connected", 10_000);
  });

  it("after a kill -9, a recovered session that never comes back expires and its ephemerals go", async () => {
    const ctl = socketControl();
    // 3 s: the recovered session's clock starts when the restarted node serves, and the check
    // below needs a health poll, a new connection and a read before it runs out.
    const c = await h.connect(server, { sessionTimeoutMs: 3_000, WebSocket: ctl.WebSocket });
    await c.create("/orphan", "", { ephemeral: true });
    ctl.block();
    await server.kill("SIGKILL");
    await server.start();
    const fresh = await h.connect(server);
    // Recovered from the log: the ephemeral is there right after the restart ...
    expect((await fresh.exists("/orphan"))?.ephemeralOwner).toBe(c.sessionId);
    // ... and goes once the session's timeout passes without the client.
    await waitFor(async () => (await fresh.exists("/orphan")) === null, { timeoutMs: 10_000, what: "the recovered session to expire" });
    await waitForState(observer, "connected", 10_000);
  });

  it("a connect string whose first host is down still connects to the live one", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    // random() close to 1 keeps the given order: the dead host is tried first.
    const c = await h.connect(`${dead},${server.connectString}`, { random: () => 0.999 });
    expect(c.state).toBe("connected");
    await c.create("/via-second-host", "", { ephemeral: true });
    expect(await observer.exists("/via-second-host")).not.toBeNull();
    await c.close();
  });

  it("the negotiated timeout is clamped to the server's min and max", async () => {
    const low = await h.connect(server, { sessionTimeoutMs: 100 });
    expect(low.negotiatedTimeoutMs).toBe(MIN_TIMEOUT);
    await low.close();
    const high = await h.connect(server, { sessionTimeoutMs: 1_000_000 });
    expect(high.negotiatedTimeoutMs).toBe(MAX_TIMEOUT);
    const mid = await h.connect(server, { sessionTimeoutMs: 1_500 });
    expect(mid.negotiatedTimeoutMs).toBe(1_500);
    // The clamped session works and is kept alive by pings well past its timeout. (At 400 ms
    // a stall of this test process longer than the timeout would expire it on the client's own
    // clock; 1.5 s leaves room on a loaded CI machine.)
    await mid.create("/clamped", "", { ephemeral: true });
    await new Promise((r) => setTimeout(r, 3 * 1_500));
    expect(mid.state).toBe("connected");
    expect((await observer.exists("/clamped"))?.ephemeralOwner).toBe(mid.sessionId);
    await Promise.all([high.close(), mid.close()]);
  });
});
