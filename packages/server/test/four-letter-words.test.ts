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
});
