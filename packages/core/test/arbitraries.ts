// fast-check generators shared by the property tests: writes over a small path alphabet so
// that random ops collide often (existing nodes, missing parents, wrong versions, children).
import { CreateMode, type MultiOp, type Stat } from "@keeper/protocol";
import fc from "fast-check";
import { bytes, createReq } from "./harness.ts";

export const PATHS = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z"] as const;
export const path = fc.constantFrom(...PATHS);
export const version = fc.oneof({ arbitrary: fc.constant(-1), weight: 4 }, { arbitrary: fc.constantFrom(0, 1, 2), weight: 3 });
export const data = fc.string({ maxLength: 6 });

export const createOp = fc
  .record({ path, data, mode: fc.constantFrom(CreateMode.PERSISTENT, CreateMode.PERSISTENT, CreateMode.EPHEMERAL, CreateMode.PERSISTENT_SEQUENTIAL) })
  .map(({ path, data, mode }): MultiOp => createReq(path, data, mode));
export const deleteOp = fc.record({ path, version }).map(({ path, version }): MultiOp => ({ type: "delete", path, version }));
export const setDataOp = fc.record({ path, data, version }).map(({ path, data, version }): MultiOp => ({ type: "setData", path, data: bytes(data), version }));
export const checkOp = fc.record({ path, version }).map(({ path, version }): MultiOp => ({ type: "check", path, version }));

/** A write that can go inside a multi, weighted towards creates so trees grow. */
export const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
  { arbitrary: createOp, weight: 3 },
  { arbitrary: deleteOp, weight: 2 },
  { arbitrary: setDataOp, weight: 2 },
  { arbitrary: checkOp, weight: 1 },
);

/** A Stat without the fields that depend on which zxid and time did the change. */
export function shape(s: Stat): Omit<Stat, "czxid" | "mzxid" | "pzxid" | "ctime" | "mtime"> {
  const { czxid: _c, mzxid: _m, pzxid: _p, ctime: _ct, mtime: _mt, ...rest } = s;
  return rest;
}

/** fast-check settings for the suite: enough runs to find collisions, few enough to stay fast. */
export const RUNS = { numRuns: 300 } as const;
