// The four-letter words as ZooKeeper answers them: a node reports a mode only while it serves
// (a leader still syncing its followers is not "leader" to a monitor reading mntr).
import { describe, expect, it } from "vitest";
import { NOT_SERVING, answerFourLetterWord, type NodeReport } from "../src/zookeeper/four-letter-words.ts";

function report(mode: NodeReport["mode"]): NodeReport {
  return {
    version: "3.8.0-keeper",
    mode,
    serving: mode !== "not serving" && mode !== "read-only",
    zxid: 0x100000005,
    nodeCount: 4,
    watchCount: 0,
    watchedPaths: 0,
    ephemerals: 0,
    approximateDataSize: 10,
    received: 3,
    sent: 3,
    outstanding: 0,
    latency: { minMs: 0.2, avgMs: 1.26, maxMs: 7.6 },
    openFileDescriptors: 31,
    globalSessions: 2,
    localSessions: 0,
    quorumSize: 2,
    uptimeMs: 1234,
    connections: [],
    ...(mode === "leader" ? { followers: 2, syncedFollowers: 2 } : {}),
    config: { clientPort: 2181 },
  };
}

const mntrState = (text: string): string | undefined => /^zk_server_state\t(.*)$/m.exec(text)?.[1];

describe("four-letter words", () => {
  it.each(["leader", "follower", "standalone", "read-only"] as const)("a %s reports its mode in srvr, stat and mntr", (mode) => {
    expect(answerFourLetterWord("srvr", () => report(mode))).toContain(`Mode: ${mode}\n`);
    expect(answerFourLetterWord("stat", () => report(mode))).toContain(`Mode: ${mode}\n`);
    expect(mntrState(answerFourLetterWord("mntr", () => report(mode)))).toBe(mode);
  });

  it.each(["srvr", "stat", "mntr", "conf", "wchs"])("%s of a node that serves nobody is ZooKeeper's not-serving line, with no mode", (word) => {
    const text = answerFourLetterWord(word, () => report("not serving"));
    expect(text).toBe(NOT_SERVING);
    expect(text).not.toMatch(/leader|follower|Mode/);
  });

  it("ruok still answers, and isro says null (no server running), ro or rw as ZooKeeper does", () => {
    expect(answerFourLetterWord("ruok", () => report("not serving"))).toBe("imok");
    expect(answerFourLetterWord("isro", () => report("not serving"))).toBe("null");
    expect(answerFourLetterWord("isro", () => report("read-only"))).toBe("ro");
    expect(answerFourLetterWord("isro", () => report("follower"))).toBe("rw");
  });

  it("srvr and mntr print the latencies, descriptors and synced followers they are given, as ZooKeeper formats them", () => {
    const r = { ...report("leader"), followers: 2, syncedFollowers: 1 };
    expect(answerFourLetterWord("srvr", () => r)).toContain("Latency min/avg/max: 0/1.3/8\n");
    const m = Object.fromEntries(answerFourLetterWord("mntr", () => r).trim().split("\n").map((l) => l.split("\t")));
    expect(m).toMatchObject({ zk_min_latency: "0", zk_avg_latency: "1.3", zk_max_latency: "8", zk_open_file_descriptor_count: "31", zk_followers: "2", zk_synced_followers: "1", zk_global_sessions: "2", zk_quorum_size: "2" });
  });

  it("mntr leaves out the descriptor count where the platform gives none, rather than a made-up one", () => {
    expect(answerFourLetterWord("mntr", () => ({ ...report("follower"), openFileDescriptors: undefined }))).not.toContain("zk_open_file_descriptor_count");
  });
});
