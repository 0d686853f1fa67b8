// The log and snapshot byte format's strings: UTF-8 written in place must read back exactly,
// whatever the characters and however full the writer's buffer is.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteReader, ByteWriter } from "../src/index.ts";
import { RUNS } from "./arbitraries.ts";

describe("ByteWriter strings", () => {
  it("round-trip any Unicode text (surrogate pairs, lone surrogates as U+FFFD), from any capacity", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (strings, capacity) => {
        const w = new ByteWriter(capacity);
        for (const s of strings) w.str(s).u8(0x5a);
        const r = new ByteReader(w.finish());
        for (const s of strings) {
          expect(r.str()).toBe(new TextDecoder().decode(new TextEncoder().encode(s)));
          expect(r.u8()).toBe(0x5a);
        }
        expect(r.done).toBe(true);
      }),
      RUNS,
    );
  });

  it("writes the same bytes as a plain UTF-8 encoding with a length prefix", () => {
    const s = "/a/é/中/😀";
    const utf8 = new TextEncoder().encode(s);
    const out = new ByteWriter(2).str(s).finish();
    expect(new DataView(out.buffer, out.byteOffset).getUint32(0)).toBe(utf8.length);
    expect(Array.from(out.subarray(4))).toEqual(Array.from(utf8));
  });
});
