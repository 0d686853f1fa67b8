// zxid = epoch * 2^32 + counter, as exact JavaScript numbers.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EPOCH_MAX, asSessionId, asZxid, counterOf, epochOf, formatSessionId, formatZxid, makeZxid } from "../src/index.ts";

describe("makeZxid() / epochOf() / counterOf()", () => {
  it.each([
    [0, 0, 0],
    [0, 1, 1],
    [1, 0, 0x1_0000_0000],
    [1, 2, 0x1_0000_0002],
    [EPOCH_MAX, 0xffff_ffff, Number.MAX_SAFE_INTEGER],
  ])("makeZxid(%d, %d) is %d", (epoch, counter, zxid) => {
    expect(makeZxid(epoch, counter)).toBe(zxid);
    expect(epochOf(makeZxid(epoch, counter))).toBe(epoch);
    expect(counterOf(makeZxid(epoch, counter))).toBe(counter);
  });

  it("splits back into its epoch and counter, and orders by epoch then counter (property)", () => {
    const epoch = fc.integer({ min: 0, max: EPOCH_MAX });
    const counter = fc.integer({ min: 0, max: 0xffff_ffff });
    fc.assert(
      fc.property(epoch, counter, epoch, counter, (e1, c1, e2, c2) => {
        const a = makeZxid(e1, c1);
        expect([epochOf(a), counterOf(a)]).toEqual([e1, c1]);
        expect(Number.isSafeInteger(a)).toBe(true);
        const b = makeZxid(e2, c2);
        expect(Math.sign(a - b)).toBe(e1 !== e2 ? Math.sign(e1 - e2) : Math.sign(c1 - c2));
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    [-1, 0],
    [EPOCH_MAX + 1, 0],
    [0.5, 0],
    [0, -1],
    [0, 0x1_0000_0000],
    [0, 1.5],
    [Number.NaN, 0],
  ])("makeZxid(%d, %d) throws RangeError", (epoch, counter) => {
    expect(() => makeZxid(epoch, counter)).toThrow(RangeError);
  });

  it("asZxid() and asSessionId() reject negatives, fractions and unsafe integers", () => {
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      expect(() => asZxid(bad)).toThrow(RangeError);
      expect(() => asSessionId(bad)).toThrow(RangeError);
    }
    expect(asZxid(0)).toBe(0);
  });

  it("formats zxids and session ids in hex as ZooKeeper prints them", () => {
    expect(formatZxid(makeZxid(2, 0x1f))).toBe("0x20000001f");
    expect(formatSessionId(asSessionId(255))).toBe("0xff");
  });
});
