import { EventType, KeeperState, Perms, asSessionId, makeZxid, type Stat } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { formatAcl, formatData, formatEvent, formatStat, parseAcl } from "../src/format.ts";

const stat: Stat = {
  czxid: makeZxid(1, 2),
  mzxid: makeZxid(1, 0x1f),
  pzxid: makeZxid(2, 3),
  ctime: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
  mtime: Date.UTC(2024, 5, 1),
  version: 4,
  cversion: 5,
  aversion: 6,
  ephemeralOwner: asSessionId(0x1234abcd),
  dataLength: 11,
  numChildren: 2,
};

describe("formatStat()", () => {
  it("prints zkCli's fields in zkCli's order, zxids in hex and times as ISO dates", () => {
    expect(formatStat(stat)).toEqual([
      "cZxid = 0x100000002",
      "ctime = 2024-01-02T03:04:05.006Z",
      "mZxid = 0x10000001f",
      "mtime = 2024-06-01T00:00:00.000Z",
      "pZxid = 0x200000003",
      "cversion = 5",
      "dataVersion = 4",
      "aclVersion = 6",
      "ephemeralOwner = 0x1234abcd",
      "dataLength = 11",
      "numChildren = 2",
    ]);
  });

  it("shows a persistent node's owner as 0x0", () => {
    expect(formatStat({ ...stat, ephemeralOwner: asSessionId(0) })).toContain("ephemeralOwner = 0x0");
  });
});

describe("formatData()", () => {
  it.each([
    ["plain text", new TextEncoder().encode("hello world"), "hello world"],
    ["multi-byte UTF-8", new TextEncoder().encode("héllo ✓"), "héllo ✓"],
    ["text with newlines and tabs", new TextEncoder().encode("a\n\tb"), "a\n\tb"],
    ["empty data", new Uint8Array(), ""],
    ["invalid UTF-8", Uint8Array.of(0xff, 0xfe, 0x00), "0xfffe00"],
    ["a truncated multi-byte sequence", Uint8Array.of(0x61, 0xe2, 0x9c), "0x61e29c"],
    ["valid UTF-8 with a NUL", Uint8Array.of(0x61, 0x00, 0x62), "0x610062"],
    ["valid UTF-8 with an escape character", Uint8Array.of(0x1b, 0x5b, 0x32, 0x4a), "0x1b5b324a"],
  ])("renders %s", (_name, data, expected) => {
    expect(formatData(data)).toBe(expected);
  });
});

describe("formatEvent()", () => {
  it.each([
    [EventType.NodeDataChanged, "/a", "NodeDataChanged /a"],
    [EventType.NodeCreated, "/a/b", "NodeCreated /a/b"],
    [EventType.NodeDeleted, "/x", "NodeDeleted /x"],
    [EventType.NodeChildrenChanged, "/", "NodeChildrenChanged /"],
    [42, "/q", "UnknownEvent(42) /q"],
  ])("renders event type %i on %s", (type, path, line) => {
    expect(formatEvent({ type: type as EventType, state: KeeperState.SyncConnected, path })).toBe(line);
  });
});

describe("ACL text", () => {
  it("formats perms in zkCli's cdrwa order", () => {
    expect(formatAcl({ scheme: "world", id: "anyone", perms: Perms.ALL })).toBe("world:anyone:cdrwa");
    expect(formatAcl({ scheme: "ip", id: "10.0.0.1", perms: Perms.READ | Perms.WRITE })).toBe("ip:10.0.0.1:rw");
  });

  it("parses what it formats, ids with colons included", () => {
    expect(parseAcl("world:anyone:cdrwa,digest:bob:x/y=:ra")).toEqual([
      { scheme: "world", id: "anyone", perms: Perms.ALL },
      { scheme: "digest", id: "bob:x/y=", perms: Perms.READ | Perms.ADMIN },
    ]);
  });

  it.each(["world", "world:anyone", ":x:r", "world:anyone:rq"])("rejects %s", (text) => {
    expect(typeof parseAcl(text)).toBe("string");
  });
});
