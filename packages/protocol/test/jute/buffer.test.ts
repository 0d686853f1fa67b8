// The jute primitives: exact bytes, round trips, and every way a reader can be handed bad input.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Code, JuteError, JuteReader, JuteWriter, KeeperError } from "../../src/index.ts";
import { bytes, hex, int32, long, str, toHex } from "./arbitraries.ts";

const RUNS = { numRuns: 300 };
const write = (f: (w: JuteWriter) => void): string => {
  const w = new JuteWriter({ initialCapacity: 1 });
  f(w);
  return toHex(w.finish());
};
const reader = (h: string, maxLength?: number) => new JuteReader(hex(h), maxLength === undefined ? undefined : { maxLength });

describe("JuteWriter", () => {
  it("writes primitives big-endian, two's complement", () => {
    expect(write((w) => w.int(1).int(-1).int(-0x8000_0000))).toBe("00000001ffffffff80000000");
    expect(write((w) => w.long(0x0102030405060708n).long(-2n))).toBe("0102030405060708fffffffffffffffe");
    expect(write((w) => w.bool(true).bool(false))).toBe("0100");
  });

  it("writes buffers, strings and vectors with an int length, -1 for null", () => {
    expect(write((w) => w.buffer(new Uint8Array([9, 8])).buffer(null).buffer(new Uint8Array(0)))).toBe("000000020908ffffffff00000000");
    expect(write((w) => w.ustring("/é").ustring(null))).toBe("000000032fc3a9ffffffff");
    expect(write((w) => w.vector([1, 2], (x, v) => void x.int(v)).vector(null, () => {}))).toBe("000000020000000100000002ffffffff");
  });

  it("fills the reserved length prefix on finish", () => {
    const w = new JuteWriter({ lengthPrefix: true });
    w.int(5).bool(true);
    expect(toHex(w.finish())).toBe("000000050000000501");
    expect(toHex(new JuteWriter({ lengthPrefix: true }).finish())).toBe("00000000");
  });

  it("rejects values jute cannot represent", () => {
    const w = new JuteWriter();
    expect(() => w.int(2 ** 31)).toThrow(RangeError);
    expect(() => w.int(1.5)).toThrow(RangeError);
    expect(() => w.long(1n << 63n)).toThrow(RangeError);
    expect(() => w.long(-(1n << 63n) - 1n)).toThrow(RangeError);
  });

  it("grows past its initial capacity", () => {
    const big = new Uint8Array(100_000).fill(7);
    const out = new JuteWriter({ initialCapacity: 1 }).buffer(big).finish();
    expect(out.length).toBe(100_004);
    expect(out[100_003]).toBe(7);
  });
});

describe("JuteReader", () => {
  it("round-trips every primitive", () => {
    fc.assert(
      fc.property(int32, long, fc.boolean(), fc.option(bytes, { nil: null }), fc.option(str, { nil: null }), fc.array(int32), (i, l, b, buf, s, v) => {
        const w = new JuteWriter().int(i).long(l).bool(b).buffer(buf).ustring(s).vector(v, (x, n) => void x.int(n));
        const r = new JuteReader(w.finish());
        expect(r.int()).toBe(i);
        expect(r.long()).toBe(l);
        expect(r.bool()).toBe(b);
        expect(r.buffer()).toEqual(buf);
        expect(r.ustring()).toBe(s);
        expect(r.vector((x) => x.int())).toEqual(v);
        expect(r.remaining).toBe(0);
      }),
      RUNS,
    );
  });

  it("reads any non-zero byte as true, like DataInput.readBoolean", () => {
    expect(reader("02ff00").bool()).toBe(true);
  });

  it("keeps a leading byte-order mark and non-BMP characters", () => {
    const s = "\uFEFF/😀";
    expect(new JuteReader(new JuteWriter().ustring(s).finish()).ustring()).toBe(s);
  });

  it("returns copies of buffers, not views of the frame", () => {
    const frame = hex("00000002 0102");
    const b = new JuteReader(frame).buffer()!;
    frame[4] = 99;
    expect(Array.from(b)).toEqual([1, 2]);
  });

  const bad: Array<[string, (r: JuteReader) => unknown, string, number?]> = [
    ["truncated int", (r) => r.int(), "000000"],
    ["truncated long", (r) => r.long(), "00000000000000"],
    ["missing boolean", (r) => r.bool(), ""],
    ["buffer shorter than its length", (r) => r.buffer(), "00000003 0102"],
    ["string shorter than its length", (r) => r.ustring(), "00000002 41"],
    ["negative buffer length", (r) => r.buffer(), "fffffffe"],
    ["negative string length", (r) => r.ustring(), "80000000"],
    ["negative vector count", (r) => r.vector((x) => x.int()), "fffffff0"],
    ["vector count beyond the bytes left", (r) => r.vector((x) => x.bool()), "7fffffff 00"],
    ["buffer over the limit", (r) => r.buffer(), "00000011" + "00".repeat(17), 16],
    ["string over the limit", (r) => r.ustring(), "00000011" + "41".repeat(17), 16],
    ["invalid UTF-8 (lone continuation byte)", (r) => r.ustring(), "00000001 80"],
    ["invalid UTF-8 (overlong encoding)", (r) => r.ustring(), "00000002 c0af"],
    ["invalid UTF-8 (encoded surrogate)", (r) => r.ustring(), "00000003 eda080"],
    ["null where a string is required", (r) => r.string("path"), "ffffffff"],
  ];
  it.each(bad)("throws JuteError on %s", (_name, read, h, max) => {
    let caught: unknown;
    try {
      read(reader(h, max));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(JuteError);
    expect(caught).toBeInstanceOf(KeeperError);
    expect((caught as JuteError).code).toBe(Code.MARSHALLINGERROR);
  });

  it("accepts a buffer exactly at the limit", () => {
    expect(reader("00000010" + "00".repeat(16), 16).buffer()!.length).toBe(16);
  });
});
