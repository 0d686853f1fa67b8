// Read-only mode on a real network partition: 3 nodes on 127.0.0.31-33; iptables cuts the
// leader off from both followers. The cut-off node stops serving and goes read-only; a client
// that accepts read-only servers keeps reading its last data there (state "readOnly") and
// gets NOTREADONLY for every write; a client that does not accept them cannot connect to it;
// the two followers elect a leader and keep taking writes. When the cut heals, the node
// rejoins, catches up to the same digest, drops its read-only clients, and they come back
// read-write (state "connected") and see the data written meanwhile.
// A second scenario: a node cut off for 15 s serves again within seconds of the heal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, KeeperError, connect, type ClientState, type KeeperClient } from "@keeper/client";
import { ChaosCluster } from "../support/chaos-cluster.ts";
import { Firewall } from "../support/chaos-net.ts";
import { poll, sleep } from "../support/ensemble.ts";

const IPS = ["127.0.0.31", "127.0.0.32", "127.0.0.33"];
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

let fw: Firewall | undefined;
const clusters: ChaosCluster[] = [];
const clients: KeeperClient[] = [];

beforeAll(() => {
  fw = Firewall.create("ro");
});

afterAll(async () => {
  await closeClients();
  for (const c of clusters.splice(0)) await c.cleanup();
  const chain = fw?.chain;
  fw?.destroySync();
  if (chain) expect(Firewall.chainExists(chain), `iptables chain ${chain} left behind`).toBe(false);
}, 60_000);

async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => Promise.race([c.close().catch(() => {}), sleep(2_000)])));
}

/** Runs `body` on a fresh 3-node cluster; on failure adds the nodes' state and output; always cleans up. */
async function withCluster(body: (c: ChaosCluster) => Promise<void>): Promise<void> {
  const c = await ChaosCluster.start({ ips: IPS });
  clusters.push(c);
  try {
    await body(c);
  } catch (e) {
    const extra = `nodes:\n${await c.describe().catch(() => "?")}\n\niptables:\n${fw!.listing()}\n\nnode output:\n${c.output(8_000)}`;
    throw new Error(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n\n${extra}`);
  } finally {
    fw!.healAll();
    await closeClients();
    await c.cleanup();
    clusters.splice(clusters.indexOf(c), 1);
  }
}

async function client(hosts: string, opts: { canBeReadOnly?: boolean; connectTimeoutMs?: number; sessionTimeoutMs?: number } = {}): Promise<KeeperClient> {
  const c = await connect(hosts, { sessionTimeoutMs: opts.sessionTimeoutMs ?? 30_000, connectTimeoutMs: opts.connectTimeoutMs ?? 10_000, requestTimeoutMs: 5_000, canBeReadOnly: opts.canBeReadOnly ?? false, readOnlyProbeIntervalMs: 500 });
  clients.push(c);
  return c;
}

async function codeOf(p: Promise<unknown>): Promise<number | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return e instanceof KeeperError ? e.code : NaN;
  }
}

function waitState(c: KeeperClient, state: ClientState, timeoutMs = 15_000): Promise<boolean> {
  return poll(() => c.state === state, { timeoutMs, what: () => `client state ${state} (now ${c.state}, last disconnect: ${c.lastDisconnectReason})` });
}

describe("partition: read-only mode on the cut-off side", () => {
  it("a node cut off by iptables serves reads read-only, refuses writes; the majority writes on; after the heal it catches up and its clients go read-write", async () => {
    const t0 = Date.now();
    await withCluster(async (c) => {
      const leader = (await c.waitForLeader()).node;
      const victim = leader; // cutting the leader off also makes the majority elect a new one
      const majority = c.nodes.filter((n) => n !== victim);

      // Before the cut: data, and a canBeReadOnly client (A) and a plain one (P) on the victim only.
      const setup = await client(c.connectString());
      await setup.create("/ro", "v1");
      await setup.create("/ro/a", "child");
      await c.waitConverged();
      const a = await client(victim.address, { canBeReadOnly: true });
      const p = await client(victim.address);
      expect(a.state).toBe("connected");
      await a.setData("/ro/a", "written-by-a");
      const aSession = a.sessionId;
      const aStates: ClientState[] = [];
      a.on("state", (s) => aStates.push(s));
      const pStates: ClientState[] = [];
      p.on("state", (s) => pStates.push(s));

      // ---- cut the victim off from both others -------------------------------------------
      fw!.isolate(victim.ip, majority.map((n) => n.ip));
      const tCut = Date.now();
      const st = await poll(async () => {
        const s = await victim.status();
        return s?.state === "read-only" && s.serving === false ? s : undefined;
      }, { timeoutMs: 10_000, what: "the cut-off node to report state read-only, serving false" });
      const roAfterMs = Date.now() - tCut;
      expect(st.state).toBe("read-only");

      // A moves to read-only service on the same node and still reads what it saw, its own write included.
      await waitState(a, "readOnly");
      expect(text((await a.getData("/ro")).data)).toBe("v1");
      expect(text((await a.getData("/ro/a")).data)).toBe("written-by-a");
      expect((await a.getChildren("/ro")).children).toEqual(["a"]);
      // Every kind of write is refused with NOTREADONLY.
      expect(await codeOf(a.setData("/ro", "nope"))).toBe(Code.NOTREADONLY);
      expect(await codeOf(a.create("/ro/b", "nope"))).toBe(Code.NOTREADONLY);
      expect(await codeOf(a.delete("/ro/a"))).toBe(Code.NOTREADONLY);
      expect(await codeOf(a.sync("/ro"))).toBe(Code.NOTREADONLY);
      expect(a.state).toBe("readOnly");

      // P (no canBeReadOnly) lost its connection and cannot get one from this node.
      await sleep(500);
      expect(p.state).toBe("disconnected");
      expect(pStates).not.toContain("readOnly");
      // A fresh client without canBeReadOnly cannot connect to it at all...
      expect(await codeOf(client(victim.address, { connectTimeoutMs: 2_000 }))).toBe(Code.CONNECTIONLOSS);
      // ...and a fresh one with canBeReadOnly gets a read-only (local) session and the same data.
      const fresh = await client(victim.address, { canBeReadOnly: true });
      expect(fresh.state).toBe("readOnly");
      expect(text((await fresh.getData("/ro")).data)).toBe("v1");
      expect(await codeOf(fresh.create("/ro/c", "nope"))).toBe(Code.NOTREADONLY);

      // ---- the majority elects a leader and keeps writing ------------------------------------
      const m = await client(c.connectString(majority));
      const newLeader = await poll(async () => {
        const sts = await Promise.all(majority.map(async (n) => ({ n, s: await n.status() })));
        return sts.find((x) => x.s?.state === "leading" && x.s.serving)?.n;
      }, { timeoutMs: 15_000, what: "a leader on the majority side" });
      expect(newLeader).not.toBe(victim);
      for (let i = 2; i <= 6; i++) await m.setData("/ro", `v${i}`);
      await m.create("/ro/during-partition", "x");
      const majorityStatus = await newLeader.status();
      // The cut-off node still serves its old data read-only.
      expect(text((await a.getData("/ro")).data)).toBe("v1");
      expect((await victim.status())?.state).toBe("read-only");
      expect(Number((await victim.status())?.lastZxid)).toBeLessThan(Number(majorityStatus?.lastZxid));

      // ---- heal --------------------------------------------------------------------------
      fw!.healAll();
      const tHeal = Date.now();
      const conv = await c.waitConverged({ timeoutMs: 20_000 });
      const caughtUpMs = Date.now() - tHeal;
      const vs = await victim.status();
      expect(vs?.serving).toBe(true);
      expect(["following", "leading"]).toContain(vs?.state);
      expect(vs?.digest).toBe(conv.digest);

      // The read-only clients were dropped and came back read-write, seeing the newer data.
      await waitState(a, "connected");
      expect(aStates).toContain("readOnly");
      expect(a.sessionId).toBe(aSession); // its global session outlived the partition
      expect(text((await a.getData("/ro")).data)).toBe("v6");
      expect((await a.getChildren("/ro")).children.sort()).toEqual(["a", "during-partition"]);
      await a.setData("/ro", "v7-from-a");
      await waitState(fresh, "connected");
      expect(text((await fresh.getData("/ro")).data)).toBe("v7-from-a");
      await waitState(p, "connected");
      expect(text((await p.getData("/ro")).data)).toBe("v7-from-a");
      console.log(`partition read-only: read-only after ${roAfterMs} ms, caught up ${caughtUpMs} ms after the heal, total ${Date.now() - t0} ms`);
    });
  }, 90_000);

  // Regression (fixed: peer links now ping and are closed after syncLimit of silence): a node
  // cut off for a while rejoined only when TCP got around to retransmitting on its stalled
  // peer links, not when the network healed. Nothing closes a peer link that has
  // gone silent: the node's ZAB heartbeat timeout makes it go LOOKING (read-only), but its
  // WebSocket links stay open (its /status keeps calling the peers "connected"), so its votes
  // and the leader's messages sit in TCP send buffers whose retransmission timers back off
  // exponentially while packets are dropped (0.2, 0.4, ... 12.8 s). A follower isolated for
  // 15 s served again only ~12.7 s after the heal (measured twice; 30 s cut off: 23.5 s).
  // ZooKeeper bounds this with socket read timeouts of syncLimit ticks on learner links,
  // after which it reconnects. Expected: serving within a few ticks + an election after the
  // heal; asserted here with 5 s of slack.
  it("a follower cut off for 15 s serves again within 5 s of the heal", async () => {
    await withCluster(async (c) => {
      const leader = (await c.waitForLeader()).node;
      const victim = c.nodes.find((n) => n !== leader)!;
      fw!.isolate(victim.ip, c.nodes.filter((n) => n !== victim).map((n) => n.ip));
      const m = await client(c.connectString(c.nodes.filter((n) => n !== victim)));
      await m.create("/during", "0");
      const tCut = Date.now();
      let peersDuringCut: unknown;
      for (let i = 1; Date.now() - tCut < 15_000; i++) {
        await m.setData("/during", String(i));
        if (i === 10) peersDuringCut = (await victim.status())?.peers;
        await sleep(250);
      }
      expect((await victim.status())?.state).toBe("read-only");
      fw!.healAll();
      const tHeal = Date.now();
      await poll(async () => (await victim.status())?.serving === true, {
        timeoutMs: 5_000,
        what: () => `the healed node to serve again (it reported its peers during the cut as ${JSON.stringify(peersDuringCut)})`,
      });
      console.log(`healed node served again ${Date.now() - tHeal} ms after the heal`);
    });
  }, 60_000);
});
