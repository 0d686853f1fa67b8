// Quorum loss with real processes. 3 nodes, 2 SIGKILLed: writes fail promptly with a clear
// error (never hang), the survivor reports that it is not serving; one node back: service
// resumes with the earlier data intact. 5 nodes: losing 2 leaves a quorum, losing a 3rd does not.
import { afterAll, afterEach, describe, expect, it, onTestFailed } from "vitest";
import { Code, KeeperError, type KeeperClient } from "@keeper/client";
import { HOST, poll, startEnsemble, type Ensemble, type EnsembleNode } from "../support/ensemble.ts";
import { fourLetterWord } from "../support/zk-tools.ts";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const OUTCOME_UNKNOWN: number[] = [Code.CONNECTIONLOSS, Code.OPERATIONTIMEOUT];
/** A node without a quorum: not serving, and looking for a leader (or serving reads only, in read-only mode). */
const noQuorum = (s: Record<string, any> | undefined): boolean => s !== undefined && s.serving === false && (s.state === "looking" || s.state === "read-only");

/** Runs `p` and returns how it settled and how long that took; fails the test if it outlives `boundMs`. */
async function settleWithin(p: Promise<unknown>, boundMs: number): Promise<{ code: number | "ok"; ms: number; error?: unknown }> {
  const t0 = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hang">((r) => (timer = setTimeout(() => r("hang"), boundMs)));
  const outcome = await Promise.race([
    p.then(
      () => ({ code: "ok" as const }),
      (error: unknown) => ({ code: error instanceof KeeperError ? error.code : NaN, error }),
    ),
    hang,
  ]);
  clearTimeout(timer);
  const ms = Date.now() - t0;
  if (outcome === "hang") throw new Error(`the call did not settle within ${boundMs} ms`);
  return { ...outcome, ms };
}

/** Retries a write (each try bounded) until one succeeds; returns how long it took. */
async function writeSucceeds(c: KeeperClient, path: string, data: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < timeoutMs) {
    try {
      await c.setData(path, data, -1, { timeoutMs: 1_000 });
      return Date.now() - t0;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`no write succeeded within ${timeoutMs} ms (last error: ${String(last)})`);
}

async function readyz(n: EnsembleNode): Promise<number> {
  return (await fetch(`http://${HOST}:${n.clientPort}/readyz`, { signal: AbortSignal.timeout(1_000) })).status;
}

const ensembles: Ensemble[] = [];
afterEach(async () => {
  for (const e of ensembles.splice(0)) await e.cleanup();
});
afterAll(async () => {
  for (const e of ensembles.splice(0)) await e.cleanup();
});

describe("quorum loss", () => {
  it("3 nodes, 2 killed: writes fail fast with CONNECTIONLOSS/OPERATIONTIMEOUT, the survivor stops serving; one back: service resumes with the data intact", async () => {
    const e = await startEnsemble({ size: 3 });
    ensembles.push(e);
    onTestFailed(() => console.error(e.output().slice(-30_000)));

    const setup = await e.connect();
    await setup.create("/q", "root");
    for (let i = 0; i < 10; i++) await setup.create(`/q/n${i}`, `v${i}`);
    await setup.close();
    const before = await e.waitConverged();

    // A keeps the default 30 s session (it should survive the outage); B's session is short.
    const a = await e.connect({ sessionTimeoutMs: 30_000 });
    const b = await e.connect({ sessionTimeoutMs: 4_000 });
    await a.setData("/q", "a-before");
    const aSession = a.sessionId;

    const leader = await e.waitForLeader();
    const followers = e.nodes.filter((n) => n.id !== leader.node.id);
    await Promise.all(followers.map((n) => n.kill("SIGKILL")));
    const survivor = leader.node;

    // A write right after the loss: a clear error within its timeout (plus a little), no hang.
    const first = await settleWithin(a.setData("/q", "lost?", -1, { timeoutMs: 2_000 }), 3_000);
    expect(first.code, `first write after the loss: ${String(first.error)}`).toSatisfy((c: unknown) => OUTCOME_UNKNOWN.includes(c as number));

    // The survivor knows it has no quorum.
    const st = await poll(async () => {
      const s = await survivor.status();
      return noQuorum(s) ? s : undefined;
    }, { timeoutMs: 5_000, what: "the survivor to report looking (or read-only) and not serving" });
    expect(st.leader ?? null).toBeNull();
    expect(await readyz(survivor)).toBe(503);
    // It says what it is doing, and its four-letter words report no mode it does not have.
    expect(st.activity).toMatch(st.state === "looking" ? /^looking: electing/ : /^read-only: no quorum/);
    const srvr = await fourLetterWord(st.zkPort, "srvr");
    if (st.state === "looking") expect(srvr).toBe("This ZooKeeper instance is not currently serving requests\n");
    else expect(srvr).toMatch(/Mode: read-only/);

    // While there is no quorum, every write settles within its own timeout.
    for (let i = 0; i < 3; i++) {
      const r = await settleWithin(a.setData("/q", `lost-${i}`, -1, { timeoutMs: 1_000 }), 2_000);
      expect(r.code).toSatisfy((c: unknown) => OUTCOME_UNKNOWN.includes(c as number));
    }
    // A write with no per-call timeout still ends: when the session's timeout passes without a server.
    const noTimeout = await settleWithin(b.setData("/q", "b-lost"), 4_000 + 4_000);
    expect(noTimeout.code, String(noTimeout.error)).toSatisfy((c: unknown) => [...OUTCOME_UNKNOWN, Code.SESSIONEXPIRED as number].includes(c as number));
    expect(b.state).toBe("expired");

    // One node back: a quorum of two again.
    const back = followers[0]!;
    await back.start();
    await e.waitForLeader({ timeoutMs: 15_000 });
    const fresh = await e.connect({ hosts: [survivor, back] });
    await fresh.setData("/q/n0", "v0-after");
    // A's session survived the outage and its writes go through again.
    await writeSucceeds(a, "/q", "a-after", 15_000);
    expect(a.sessionId).toBe(aSession);
    expect(a.state).toBe("connected");

    // The earlier data is intact.
    await fresh.sync("/q");
    const { children } = await fresh.getChildren("/q");
    expect([...children].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`).sort());
    for (let i = 1; i < 10; i++) expect(text((await fresh.getData(`/q/n${i}`)).data)).toBe(`v${i}`);
    expect(text((await fresh.getData("/q/n0")).data)).toBe("v0-after");
    expect(text((await fresh.getData("/q")).data)).toBe("a-after");
    const after = await e.waitConverged({ nodes: [survivor, back] });
    expect(after.lastZxid).toBeGreaterThan(before.lastZxid);
  }, 60_000);

  it("5 nodes: writes go on after 2 are killed and stop after a 3rd", async () => {
    const e = await startEnsemble({ size: 5 });
    ensembles.push(e);
    onTestFailed(() => console.error(e.output().slice(-30_000)));

    const c = await e.connect({ sessionTimeoutMs: 30_000 });
    await c.create("/f", "0");
    const leader = await e.waitForLeader();

    // Kill the leader and one follower: three of five remain, a quorum.
    const follower = e.nodes.find((n) => n.id !== leader.node.id)!;
    await Promise.all([leader.node.kill("SIGKILL"), follower.kill("SIGKILL")]);
    const next = await e.waitForLeader({ notId: leader.node.id, timeoutMs: 10_000 });
    expect(next.status.epoch).toBeGreaterThan(leader.status.epoch);
    await writeSucceeds(c, "/f", "1", 10_000);
    // Each retried within a bound: a heartbeat missed on a loaded machine may cost an election.
    for (let i = 2; i < 22; i++) await writeSucceeds(c, "/f", String(i), 10_000);

    // A third: two of five, no quorum. Writes stop, with a clear error each time.
    const third = e.running().find((n) => n.id !== next.node.id)!;
    await third.kill("SIGKILL");
    const first = await settleWithin(c.setData("/f", "lost", -1, { timeoutMs: 2_000 }), 3_000);
    expect(first.code, String(first.error)).toSatisfy((x: unknown) => OUTCOME_UNKNOWN.includes(x as number));
    await poll(async () => {
      const sts = await e.statuses();
      return sts.length === 2 && sts.every((s) => noQuorum(s.status));
    }, { timeoutMs: 5_000, what: "the two survivors to stop serving" });
    for (let i = 0; i < 2; i++) {
      const r = await settleWithin(c.setData("/f", `lost-${i}`, -1, { timeoutMs: 1_000 }), 2_000);
      expect(r.code).toSatisfy((x: unknown) => OUTCOME_UNKNOWN.includes(x as number));
    }
  }, 60_000);
});
