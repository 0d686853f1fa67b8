// The dashboard's pure parts: how data, Stats and ACLs are shown, how lag and traffic are
// derived from the nodes' /status.
import { describe, expect, it } from "vitest";
import { aclText, childPath, formatData, hexDump, parentOf, SHOWN_BYTES_MAX, statRows } from "../src/dashboard/app/format.ts";
import { lagOf, sparkline, traffic, type NodeStatus, type Polled } from "../src/dashboard/app/ensemble.ts";

const enc = new TextEncoder();

function node(id: number, role: string, extra: Partial<NodeStatus> = {}): NodeStatus {
  return { serverId: id, state: role, role, serving: true, activity: "", leader: 1, epoch: 1, lastZxid: 0, sessions: 0, clients: 0, nodes: 1, learners: [], counters: { requests: 0 }, latency: { count: 0, totalMs: 0 }, ...extra };
}

describe("dashboard formats", () => {
  it("shows data as text, as indented JSON (or why not), and as a hex dump with ASCII", () => {
    expect(formatData(enc.encode('{"a":[1,2]}'), "text")).toBe('{"a":[1,2]}');
    expect(formatData(enc.encode('{"a":[1,2]}'), "json")).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(formatData(enc.encode("not json"), "json")).toMatch(/^not JSON: /);
    expect(hexDump(new Uint8Array([0x48, 0x69, 0, 0xff]))).toBe(`00000000  48 69 00 ff${" ".repeat(36)}  Hi..`);
    expect(hexDump(new Uint8Array(17)).split("\n")[1]).toMatch(/^00000010  00 /);
  });

  it("cuts long data and says how much is not shown", () => {
    const big = new Uint8Array(SHOWN_BYTES_MAX + 10).fill(0x61);
    expect(formatData(big, "text").endsWith("… 10 more bytes not shown")).toBe(true);
  });

  it("prints a Stat with hex zxids and an ACL as zkCli does", () => {
    const rows = new Map(statRows({ czxid: 0x100000003, mzxid: 0x200000001, pzxid: 0x100000003, ctime: 0, mtime: 0, version: 2, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 14, numChildren: 0 } as never));
    expect(rows.get("czxid")).toBe("0x100000003");
    expect(rows.get("mtime")).toBe("1970-01-01T00:00:00.000Z");
    expect(aclText([{ perms: 31, scheme: "world", id: "anyone" }, { perms: 1 | 2, scheme: "digest", id: "u:x" }])).toBe("'world,'anyone\n: cdrwa\n'digest,'u:x\n: rw");
  });

  it("walks paths", () => {
    expect(parentOf("/a/b")).toBe("/a");
    expect(parentOf("/a")).toBe("/");
    expect(childPath("/", "a")).toBe("/a");
    expect(childPath("/a", "b")).toBe("/a/b");
  });
});

describe("dashboard ensemble view", () => {
  it("reads a follower's lag from its leader's learners", () => {
    const leader = node(1, "leading", { learners: [{ id: 2, synced: true, lagTxns: 7 }, { id: 3, synced: false }, { id: 4, synced: true, lagTxns: 1000, lagBeyondWindow: true }] });
    const polled: Polled[] = [{ address: "a", status: leader }, { address: "b", status: node(2, "following") }, { address: "c", status: node(3, "following") }];
    expect(lagOf(leader, polled)).toBe("leader");
    expect(lagOf(node(2, "following"), polled)).toBe("7 txns");
    expect(lagOf(node(3, "following"), polled)).toBe("syncing");
    expect(lagOf(node(4, "following"), polled)).toBe("over 1000 txns");
    expect(lagOf(node(2, "following"), polled.slice(1))).toBe("–");
  });

  it("derives requests per second and the average latency of the requests answered between two polls", () => {
    const before = new Map([["a", node(1, "leading", { counters: { requests: 100 }, latency: { count: 80, totalMs: 160 } })]]);
    const after = new Map([
      ["a", node(1, "leading", { counters: { requests: 300 }, latency: { count: 180, totalMs: 560 } })],
      // Seen for the first time: counts from the next poll.
      ["b", node(2, "following", { counters: { requests: 999 }, latency: { count: 999, totalMs: 999 } })],
    ]);
    expect(traffic(before, after, 2)).toEqual({ requestsPerSec: 100, latencyMs: 4 });
    // A node that restarted counts from zero, never negative.
    const restarted = new Map([["a", node(1, "leading", { counters: { requests: 10 }, latency: { count: 5, totalMs: 5 } })]]);
    expect(traffic(before, restarted, 1)).toEqual({ requestsPerSec: 10, latencyMs: 1 });
    expect(traffic(before, before, 1).latencyMs).toBeUndefined();
  });

  it("draws a sparkline scaled to its largest value", () => {
    expect(sparkline([0, 5, 10], 300, 70)).toBe("M0.0,68.0 L150.0,35.0 L300.0,2.0");
    expect(sparkline([], 300, 70)).toBe("");
  });
});
