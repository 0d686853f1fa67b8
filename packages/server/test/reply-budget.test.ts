// Reads whose reply would exceed replyBytesMax are refused (BADARGUMENTS) instead of built, the
// count stops at the limit, and every reply that is let through encodes within the limit in both
// protocols (jute on the ZooKeeper port, protobuf on the native one).
import { describe, expect, it } from "vitest";
import { WatchManager, type DataTree, type Znode } from "@keeper/core";
import { Code, OPEN_ACL_UNSAFE, encodeReply, encodeServerMessage, type Acl, type Stat, type Zxid, type ZkRequest } from "@keeper/protocol";
import { executeRead, type ReadRequest } from "../src/client/reads.ts";
import { responseOf } from "../src/zookeeper/translate.ts";

/** The largest values each Stat field can take: the longest encodings in both protocols. */
const BIG = 2 ** 53 - 1;
const STAT: Stat = { czxid: BIG as Zxid, mzxid: BIG as Zxid, ctime: BIG, mtime: BIG, version: -1, cversion: -1, aversion: -1, ephemeralOwner: BIG, dataLength: -1, numChildren: -1, pzxid: BIG as Zxid };

function znode(parts: { data?: Uint8Array; children?: Iterable<string> & { size: number }; acl?: Acl[] }): Znode {
  return { data: parts.data ?? new Uint8Array(0), dataNull: false, acl: parts.acl ?? [...OPEN_ACL_UNSAFE], stat: { ...STAT }, children: (parts.children ?? new Set()) as ReadonlySet<string>, pathHash: [0, 0], dataHash: [0, 0], snapshotMark: 0, descendants: 0 } as Znode;
}

/** Just enough of a DataTree for reads: nodes by path. */
function treeOf(nodes: Record<string, Znode>): DataTree {
  return { node: (p: string) => nodes[p], descendantCount: () => 0 } as unknown as DataTree;
}

/** A child set that counts how many names a read walked. */
function countingChildren(size: number, name: (i: number) => string) {
  const walked = { n: 0 };
  const set = {
    size,
    *[Symbol.iterator]() {
      for (let i = 0; i < size; i++) {
        walked.n++;
        yield name(i);
      }
    },
  };
  return { set, walked };
}

const names = (n: number, len: number, ch = "c") => new Set(Array.from({ length: n }, (_, i) => `${ch.repeat(Math.max(0, len - String(i).length))}${i}`));

function read(tree: DataTree, req: ReadRequest, replyBytesMax: number, watches = new WatchManager<string>()) {
  return executeRead(tree, watches, "w", req, [], replyBytesMax);
}

/** Both encodings of a read's reply, in bytes (the jute frame without its 4-byte length). */
function encodedSizes(req: ReadRequest, zk: ZkRequest, out: ReturnType<typeof read>): { jute: number; native: number } {
  const native = encodeServerMessage({ kind: "response", xid: -3, zxid: BIG as Zxid, err: out.err, ...(out.result ? { result: out.result } : {}) }).byteLength;
  const multi = req.type === "multiRead";
  const jute = encodeReply(-3, BigInt(BIG), multi ? Code.OK : out.err, responseOf(zk, out.err === Code.OK || multi ? out.result : undefined)).byteLength - 4;
  return { jute, native };
}

describe("executeRead() against replyBytesMax", () => {
  const LIMIT = 4096;

  it.each([
    ["one-byte names", 1, "c"],
    ["ten-byte names", 10, "c"],
    ["three-byte UTF-8 characters", 5, "€"],
  ])("getChildren with %s: every reply let through encodes within the limit, and the refusal comes near it", (_name, len, ch) => {
    let firstRefused: number | undefined;
    for (let n = 0; n < 2000 && firstRefused === undefined; n += 7) {
      const tree = treeOf({ "/p": znode({ children: names(n, len, ch) }) });
      for (const zk of [{ type: "getChildren", path: "/p", watch: false }, { type: "getChildren2", path: "/p", watch: false }] as const) {
        const req: ReadRequest = { type: "getChildren", path: "/p", watch: false };
        const out = read(tree, req, LIMIT);
        if (out.err !== Code.OK) {
          expect(out.err).toBe(Code.BADARGUMENTS);
          expect(out.reason).toMatch(/exceed replyBytesMax \(4096 bytes\)/);
          firstRefused = n;
          // The estimate is an upper bound, but not a loose one: the refused reply was close to the limit.
          const whole = read(tree, req, 1 << 20);
          expect(encodedSizes(req, zk, whole).jute).toBeGreaterThan(LIMIT * 0.75);
          break;
        }
        const size = encodedSizes(req, zk, out);
        expect(size.jute).toBeLessThanOrEqual(LIMIT);
        expect(size.native).toBeLessThanOrEqual(LIMIT);
      }
    }
    expect(firstRefused).toBeDefined();
  });

  it("a refused getChildren sets no watch, and one that fits does", () => {
    const watches = new WatchManager<string>();
    const tree = treeOf({ "/big": znode({ children: names(1000, 8) }), "/small": znode({ children: names(3, 8) }) });
    expect(read(tree, { type: "getChildren", path: "/big", watch: true }, LIMIT, watches).err).toBe(Code.BADARGUMENTS);
    expect(watches.countFor("w")).toBe(0);
    expect(read(tree, { type: "getChildren", path: "/small", watch: true }, LIMIT, watches).err).toBe(Code.OK);
    expect(watches.countFor("w")).toBe(1);
  });

  it("getChildren of a million children is refused without walking them", () => {
    const { set, walked } = countingChildren(1_000_000, (i) => `n${i}`);
    const out = read(treeOf({ "/p": znode({ children: set }) }), { type: "getChildren", path: "/p", watch: false }, 1024 * 1024 + 64 * 1024);
    expect(out.err).toBe(Code.BADARGUMENTS);
    expect(walked.n).toBe(0);
  });

  it("getChildren too big to refuse at a glance stops walking at the limit", () => {
    const LIMIT_1M = 1024 * 1024 + 64 * 1024;
    // 200k names of 10 bytes (2.8 MB of reply): the count alone (5 bytes each at least) would fit.
    const { set, walked } = countingChildren(200_000, (i) => `child${String(i).padStart(5, "0")}`);
    const out = read(treeOf({ "/p": znode({ children: set }) }), { type: "getChildren", path: "/p", watch: false }, LIMIT_1M);
    expect(out.err).toBe(Code.BADARGUMENTS);
    expect(walked.n).toBeLessThanOrEqual(Math.ceil(LIMIT_1M / 14) + 1);
  });

  it("a multiRead stops at the op that overflows and runs none after it", () => {
    const { set, walked } = countingChildren(300, (i) => `child${String(i).padStart(5, "0")}`);
    const tree = treeOf({ "/p": znode({ children: set }), "/d": znode({ data: new Uint8Array(100) }) });
    // Each getChildren of /p is about 300 * 14 = 4200 bytes: three fit in 16 KiB, the fourth does not.
    const ops = Array.from({ length: 300 }, () => ({ type: "getChildren" as const, path: "/p" }));
    const out = read(tree, { type: "multiRead", ops }, 16 * 1024);
    expect(out).toMatchObject({ err: Code.BADARGUMENTS, reason: expect.stringMatching(/multiRead of 300 ops \(op 3, getChildren \/p\)/) });
    expect(out.result).toBeUndefined();
    expect(walked.n).toBeLessThanOrEqual(4 * 300);
  });

  it("a multiRead that fits keeps ZooKeeper's per-op errors and encodes within the limit", () => {
    const tree = treeOf({ "/d": znode({ data: new Uint8Array(1000) }), "/p": znode({ children: names(20, 12) }) });
    const ops = [
      { type: "getData" as const, path: "/d" },
      { type: "getData" as const, path: "/missing" },
      { type: "getChildren" as const, path: "/p" },
      { type: "getData" as const, path: "bad" },
    ];
    const req: ReadRequest = { type: "multiRead", ops };
    const out = read(tree, req, LIMIT);
    expect(out.err).toBe(Code.OK);
    expect(out.result).toMatchObject({ type: "multiRead", results: [{ type: "getData" }, { type: "error", err: Code.NONODE }, { type: "getChildren" }, { type: "error", err: Code.BADARGUMENTS }] });
    const size = encodedSizes(req, { type: "multiRead", ops: ops.map((o) => ({ ...o, watch: false })) }, out);
    expect(size.jute).toBeLessThanOrEqual(LIMIT);
    expect(size.native).toBeLessThanOrEqual(LIMIT);
    // Three such 1000-byte reads do not fit in 4 KiB with the rest: the whole multiRead is refused.
    expect(read(tree, { type: "multiRead", ops: [...ops, ...ops, ...ops, ...ops] }, LIMIT).err).toBe(Code.BADARGUMENTS);
  });

  it("getData and getACL are measured too", () => {
    const acl: Acl[] = [...OPEN_ACL_UNSAFE, ...Array.from({ length: 30 }, (_, i) => ({ perms: 31, scheme: "digest", id: `user${i}:${"x".repeat(28)}` }))];
    const tree = treeOf({ "/d": znode({ data: new Uint8Array(3800) }), "/a": znode({ acl }) });
    const get: ReadRequest = { type: "getData", path: "/d", watch: false };
    const data = read(tree, get, LIMIT);
    expect(data.err).toBe(Code.OK);
    expect(encodedSizes(get, get, data).jute).toBeLessThanOrEqual(LIMIT);
    expect(encodedSizes(get, get, data).native).toBeLessThanOrEqual(LIMIT);
    expect(read(tree, get, 3900).err).toBe(Code.BADARGUMENTS);
    const req: ReadRequest = { type: "getACL", path: "/a" };
    const out = read(tree, req, 4096);
    expect(out.err).toBe(Code.OK);
    const size = encodedSizes(req, { type: "getACL", path: "/a" }, out);
    expect(size.jute).toBeLessThanOrEqual(4096);
    expect(size.native).toBeLessThanOrEqual(4096);
    expect(read(tree, req, 2048).err).toBe(Code.BADARGUMENTS);
  });
});
