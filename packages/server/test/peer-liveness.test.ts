// A peer link is dropped when the peer goes silent, never because this node itself was paused:
// after a block of the event loop, the silence timer runs before the sockets are read, and the
// node sent no pings while it was blocked.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { asServerId, type ServerId } from "@keeper/core";
import { LinkLiveness } from "../src/peers/liveness.ts";
import { PeerNetwork } from "../src/peers/peer-network.ts";
import { canonicalPeers, parsePeers } from "../src/config.ts";
import { REPO_ROOT, TEST_PEER_AUTH, freePort } from "../../../test/support/processes.ts";

describe("LinkLiveness", () => {
  // Window 1000 ms, checks every 250 ms, links heard at t=0.
  const make = () => {
    const l = new LinkLiveness<string>(1000, 250, 0);
    l.heard("a", 0);
    l.heard("b", 0);
    return l;
  };

  it("LinkLiveness.silent() names a link silent for longer than the window of on-time checks", () => {
    const l = make();
    for (const t of [250, 500, 750, 1000]) expect(l.check(t)).toBe(0);
    expect(l.silent(1000)).toEqual([]);
    l.heard("b", 900);
    expect(l.check(1250)).toBe(0);
    expect(l.silent(1250)).toEqual([{ id: "a", silentMs: 1250 }]);
  });

  it.each([
    ["just over two intervals", 501, 251],
    ["a 5 s block", 5250, 5000],
  ])("LinkLiveness.check() late by %s reports the pause and does not count it as silence", (_name, at, pausedMs) => {
    const l = make();
    expect(l.check(at)).toBe(pausedMs);
    // Only the one interval this node ran counts: 250 ms of silence, not `at`.
    expect(l.silent(at)).toEqual([]);
    expect(l.silent(at + 750)).toEqual([]);
    expect(l.silent(at + 751)).toEqual([{ id: "a", silentMs: 1001 }, { id: "b", silentMs: 1001 }]);
  });

  it("LinkLiveness.check() still judges a dead peer when this node is late on every check", () => {
    const l = make();
    // Every check comes 600 ms apart (the node is stalled 350 ms of each 600): 250 ms count each time.
    let t = 0;
    let checks = 0;
    while (l.silent(t).length === 0) {
      t += 600;
      l.check(t);
      checks++;
    }
    expect(checks).toBe(5);
  });

  it("a check interval that could not notice a pause before judging a silence is refused", () => {
    expect(() => new LinkLiveness(1000, 500, 0)).toThrow(/cannot judge/);
  });
});

describe("PeerNetwork liveness across pauses", () => {
  // Node 1 runs in a child process with a long window of its own, so that only node 2 (here,
  // window 1.5 s) judges; the child is started once, the SIGSTOP test last.
  const SILENCE_MS = 1500;
  let child: ChildProcess;
  let out = "";
  let net: PeerNetwork;
  const ups: ServerId[] = [];
  const downs: ServerId[] = [];
  const childEvents = () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { event: string; peer?: number });

  beforeAll(async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const spec = `1=127.0.0.1:${p1},2=127.0.0.1:${p2}`;
    child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "packages/server/test/peer-process.ts"), "1", spec, "60000"], { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "inherit"] });
    child.stdout!.on("data", (d) => (out += d));
    await vi.waitFor(() => expect(childEvents().map((e) => e.event)).toContain("listening"), { timeout: 60_000, interval: 50 });
    const members = parsePeers(spec);
    net = new PeerNetwork(asServerId(2), members, canonicalPeers(members), { up: (p) => ups.push(p), down: (p) => downs.push(p), message: () => {} }, pino({ level: "silent" }), { auth: TEST_PEER_AUTH, silenceMsMax: SILENCE_MS });
    await net.listen("127.0.0.1", p2);
    await vi.waitFor(() => expect(ups).toEqual([1]), { timeout: 10_000, interval: 20 });
  });

  afterAll(async () => {
    await net?.close();
    // Only the PID this file started; continued first, in case a failed test left it stopped.
    child?.kill("SIGCONT");
    child?.kill("SIGKILL");
  });

  const busyFor = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // The event loop is blocked: timers and sockets wait.
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("a node whose event loop was blocked for longer than the silence window keeps its links", async () => {
    busyFor(2.5 * SILENCE_MS);
    // Several windows of running time after the block: the peer answers pings throughout.
    await sleep(2 * SILENCE_MS);
    expect(downs).toEqual([]);
    expect(net.connected).toEqual([1]);
    expect(childEvents().filter((e) => e.event === "down")).toEqual([]);
  });

  it("a peer stopped with SIGSTOP is judged silent, and the link comes back after SIGCONT", async () => {
    await vi.waitFor(() => expect(net.connected).toEqual([1]), { timeout: 10_000, interval: 20 });
    const [downsBefore, upsBefore] = [downs.length, ups.length];
    child.kill("SIGSTOP");
    // The stopped process's sockets stay open: only its silence can tell.
    await vi.waitFor(() => expect(downs.length).toBe(downsBefore + 1), { timeout: 10_000, interval: 20 });
    child.kill("SIGCONT");
    await vi.waitFor(() => expect(ups.length).toBe(upsBefore + 1), { timeout: 10_000, interval: 20 });
    expect(net.connected).toEqual([1]);
  });
});
