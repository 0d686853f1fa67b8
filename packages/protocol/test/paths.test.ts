// ZooKeeper's path rules (PathUtils.validatePath), sequential suffixes and chroot mapping.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Code, KeeperError, joinPath, limits, nameOf, parentOf, pathProblem, sequenceSuffix, validatePath, withChroot, withoutChroot } from "../src/index.ts";

describe("pathProblem()", () => {
  it.each(["/", "/a", "/a/b", "/a.b", "/.a", "/a.", "/...", "/..a", "/a b", "/\u00fc\u4e2d", "/zookeeper", "/a-/b_/c~", "/\u00a0"])("accepts %j", (path) => {
    expect(pathProblem(path)).toBeUndefined();
  });

  it.each([
    ["", "empty"],
    ["a", "start with /"],
    ["a/b", "start with /"],
    ["/a/", "end with /"],
    ["//", "end with /"],
    ["/a//b", "empty node name"],
    ["/.", "relative"],
    ["/..", "relative"],
    ["/a/.", "relative"],
    ["/a/..", "relative"],
    ["/a/./b", "relative"],
    ["/a/../b", "relative"],
    ["/a\u0000", "null character"],
    ["/a\u0001", "control character"],
    ["/a\u001f", "control character"],
    ["/a\u007f", "control character"],
    ["/a\u009f", "control character"],
    ["/a\ud800", "invalid character"],
    ["/a\uf8ff", "invalid character"],
    ["/a\ufff0", "invalid character"],
    ["/a\uffff", "invalid character"],
  ])("rejects %j (%s)", (path, reason) => {
    expect(pathProblem(path)).toMatch(new RegExp(reason));
  });

  it.each(["/a/", "/a/b", "/a/b-", "/a/b/"])("accepts %j as a sequential prefix", (path) => {
    expect(pathProblem(path, true)).toBeUndefined();
  });

  it.each(["", "a", "//", "/a//", "/a//b-", "/a\u0001/"])("rejects %j as a sequential prefix", (path) => {
    expect(pathProblem(path, true)).toBeDefined();
  });

  // Regression (fixed): ZooKeeper validates a sequential path as validatePath(path + "1"), so "/" (which
  // creates "/0000000000"), "/a/." and "/a/.." are valid sequential prefixes in ZooKeeper 3.8;
  // Keeper rejects them. Expected: pathProblem(p, true) === pathProblem(p + "1").
  it("accepts what ZooKeeper accepts as a sequential prefix: /, /a/. and /a/..", () => {
    for (const p of ["/", "/a/.", "/a/.."]) expect(pathProblem(p, true), p).toBeUndefined();
  });

  // Regression (fixed): limits.pathLengthMax ("Longest path accepted", limits.ts) is enforced nowhere, so a
  // path of any length passes; STYLE asks every stated maximum to be checked before it grows.
  // Expected: pathProblem() reports a path longer than limits.pathLengthMax.
  it("rejects a path longer than limits.pathLengthMax", () => {
    expect(pathProblem("/" + "a".repeat(limits.pathLengthMax))).toBeDefined();
  });

  it("accepts a path of exactly limits.pathLengthMax characters", () => {
    expect(pathProblem("/" + "a".repeat(limits.pathLengthMax - 1))).toBeUndefined();
  });

  it("validatePath() throws KeeperError BADARGUMENTS with the path", () => {
    expect(() => validatePath("/a/")).toThrow(KeeperError);
    try {
      validatePath("nope");
    } catch (e) {
      expect(e).toMatchObject({ code: Code.BADARGUMENTS, path: "nope" });
    }
    expect(() => validatePath("/a/", true)).not.toThrow();
  });
});

describe("parentOf() / nameOf() / joinPath()", () => {
  it.each([
    ["/", "", ""],
    ["/a", "/", "a"],
    ["/a/b", "/a", "b"],
    ["/a/b/c-0000000001", "/a/b", "c-0000000001"],
  ])("splits %j into parent %j and name %j", (path, parent, name) => {
    expect(parentOf(path)).toBe(parent);
    expect(nameOf(path)).toBe(name);
    if (path !== "/") expect(joinPath(parent, name)).toBe(path);
  });
});

describe("sequenceSuffix()", () => {
  it.each([
    [0, "0000000000"],
    [1, "0000000001"],
    [42, "0000000042"],
    [1234567890, "1234567890"],
    [2147483647, "2147483647"],
    // Past 2^31 - 1 ZooKeeper's int counter wraps and %010d prints the sign inside the width.
    [2147483648, "-2147483648"],
    [-1, "-000000001"],
    [0xffff_ffff, "-000000001"],
  ])("formats %d as %j", (n, s) => {
    expect(sequenceSuffix(n)).toBe(s);
  });

  it("is always ten characters and sorts like the counter below 2^31 (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fff_ffff }), fc.integer({ min: 0, max: 0x7fff_ffff }), (a, b) => {
        expect(sequenceSuffix(a)).toHaveLength(10);
        expect(Math.sign(sequenceSuffix(a).localeCompare(sequenceSuffix(b)))).toBe(Math.sign(a - b));
      }),
      { numRuns: 300 },
    );
  });
});

describe("withChroot() / withoutChroot()", () => {
  it.each([
    ["/app", "/", "/app"],
    ["/app", "/x", "/app/x"],
    ["/app/sub", "/x/y", "/app/sub/x/y"],
    ["", "/x", "/x"],
    ["/", "/x", "/x"],
  ])("withChroot(%j, %j) is %j", (chroot, path, full) => {
    expect(withChroot(chroot, path)).toBe(full);
    expect(withoutChroot(chroot, full)).toBe(path);
  });

  it.each([
    ["/app", "/apple", "/apple"],
    ["/app", "/other", "/other"],
    ["", "/x", "/x"],
  ])("withoutChroot(%j, %j) leaves a path outside the chroot as %j", (chroot, path, out) => {
    expect(withoutChroot(chroot, path)).toBe(out);
  });

  const segment = fc.stringMatching(/^[a-z0-9]{1,4}$/);
  const validPath = fc.array(segment, { maxLength: 4 }).map((parts) => "/" + parts.join("/"));
  it("withoutChroot() undoes withChroot() for any valid path (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(""), validPath), validPath, (chroot, path) => {
        expect(withoutChroot(chroot, withChroot(chroot, path))).toBe(path);
        expect(pathProblem(withChroot(chroot, path))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
