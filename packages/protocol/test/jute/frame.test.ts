// Framing: streams split anywhere, limits, four-letter words; and hostile bytes throw JuteError only.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FOUR_LETTER_WORDS,
  FrameDecoder,
  JUTE_DEFAULT_MAX_BUFFER,
  JuteError,
  decodeConnectRequest,
  decodeReply,
  decodeWatchEvent,
  decodeZkRequest,
  encodeConnectRequest,
  encodeZkRequest,
  peekFourLetterWord,
  type ZkRequest,
} from "../../src/index.ts";
import { concat, hex, int32, request, toHex } from "./arbitraries.ts";

const requests: ZkRequest[] = [
  { type: "ping" },
  { type: "create", path: "/a", data: new Uint8Array([1, 2, 3]), acl: [{ perms: 31, scheme: "world", id: "anyone" }], flags: 0 },
  { type: "getData", path: "/a", watch: true },
  { type: "closeSession" },
  { type: "multi", ops: [{ type: "setData", path: "/a", data: null, version: 2 }, { type: "check", path: "/b", version: 0 }] },
];
const connect = encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30_000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false });
const frames = [connect, ...requests.map((r, i) => encodeZkRequest(i + 1, r))];
const stream = concat(...frames);
const bodies = frames.map((f) => f.subarray(4));

function feed(decoder: FrameDecoder, chunks: Uint8Array[]): Uint8Array[] {
  return chunks.flatMap((c) => decoder.push(c));
}
/** Frames as one comparable string (toEqual on many Uint8Arrays is slow in a tight loop). */
const show = (fs: Uint8Array[]): string => fs.map(toHex).join("|");
const expected = show(bodies);

describe("FrameDecoder", () => {
  it("returns every frame of a stream split at any one byte offset", () => {
    for (let i = 0; i <= stream.length; i++) {
      const got = feed(new FrameDecoder(), [stream.subarray(0, i), stream.subarray(i)]);
      expect(show(got), `split at ${i}`).toBe(expected);
    }
  });

  it("returns every frame of a stream split at any two byte offsets", () => {
    let failures = 0;
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        const got = feed(new FrameDecoder(), [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        if (show(got) !== expected) failures++;
      }
    }
    expect(failures).toBe(0);
  });

  it("handles one byte at a time, and everything in one chunk", () => {
    const d = new FrameDecoder();
    const got = Array.from(stream, (b) => d.push(Uint8Array.of(b))).flat();
    expect(got).toEqual(bodies);
    expect(d.buffered).toBe(0);
    expect(new FrameDecoder().push(stream)).toEqual(bodies);
  });

  it("decodes what it frames", () => {
    const [first, ...rest] = new FrameDecoder().push(stream);
    expect(decodeConnectRequest(first!).readOnly).toBe(false);
    expect(rest.map((f) => decodeZkRequest(f).request)).toEqual(requests);
  });

  it("handles arbitrary chunkings of arbitrary requests", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(int32, request), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (reqs, cuts) => {
        const all = concat(...reqs.map(([xid, r]) => encodeZkRequest(xid, r)));
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, all.length]) {
          chunks.push(all.subarray(prev, p));
          prev = p;
        }
        const got = feed(new FrameDecoder(), chunks).map((f) => decodeZkRequest(f));
        expect(got.map((g) => g.request)).toEqual(reqs.map(([, r]) => r));
        expect(got.map((g) => g.xid)).toEqual(reqs.map(([xid]) => xid));
      }),
      { numRuns: 300 },
    );
  });

  it("returns zero-length frames", () => {
    expect(new FrameDecoder().push(hex("00000000 00000000"))).toEqual([new Uint8Array(0), new Uint8Array(0)]);
  });

  it("copies frames out of the chunk", () => {
    const chunk = hex("00000002 0102");
    const [f] = new FrameDecoder().push(chunk);
    chunk[4] = 9;
    expect(Array.from(f!)).toEqual([1, 2]);
  });

  it("rejects negative lengths and lengths over the limit, then stays failed", () => {
    expect(() => new FrameDecoder().push(hex("ffffffff"))).toThrow(JuteError);
    const d = new FrameDecoder(10);
    expect(d.push(hex("0000000a" + "00".repeat(10)))).toHaveLength(1);
    expect(() => d.push(hex("0000000b"))).toThrow(JuteError);
    expect(() => d.push(hex("00000000"))).toThrow(JuteError);
    expect(new FrameDecoder().maxFrameBytes).toBe(JUTE_DEFAULT_MAX_BUFFER);
    expect(JUTE_DEFAULT_MAX_BUFFER).toBe(1024 * 1024 + 1024);
  });

  it("checks the length before buffering the body", () => {
    const d = new FrameDecoder(100);
    expect(() => d.push(hex("7fffffff"))).toThrow(JuteError);
  });
});

describe("four-letter words", () => {
  const ascii = (s: string) => new TextEncoder().encode(s);

  it.each(["ruok", "srvr", "stat", "mntr", "conf", "cons", "envi", "isro", "wchs", "wchc", "wchp", "dump", "crst", "srst", "dirs", "gtmk", "stmk"])("recognises %s", (w) => {
    expect(peekFourLetterWord(ascii(w))).toBe(w);
    expect(peekFourLetterWord(ascii(`${w}\n`))).toBe(w);
    expect(FOUR_LETTER_WORDS).toContain(w);
  });

  it("ignores lengths, other words, upper case and short input", () => {
    expect(peekFourLetterWord(connect)).toBeUndefined();
    expect(peekFourLetterWord(ascii("RUOK"))).toBeUndefined();
    expect(peekFourLetterWord(ascii("kill"))).toBeUndefined();
    expect(peekFourLetterWord(ascii("ruo"))).toBeUndefined();
    expect(peekFourLetterWord(new Uint8Array(0))).toBeUndefined();
  });

  it("every word, read as a length, is beyond the frame limit", () => {
    for (const w of FOUR_LETTER_WORDS) {
      expect(() => new FrameDecoder().push(ascii(w))).toThrow(JuteError);
    }
  });
});

describe("hostile input throws JuteError and nothing else", () => {
  const onlyJuteError = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
    }
  };

  it("random frames", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: -20, max: 120 }), (bytes, opcode) => {
        onlyJuteError(() => decodeZkRequest(bytes));
        onlyJuteError(() => decodeConnectRequest(bytes));
        onlyJuteError(() => decodeReply(bytes, opcode));
        onlyJuteError(() => decodeWatchEvent(bytes));
        onlyJuteError(() => new FrameDecoder(64).push(bytes));
        // The same garbage behind a valid header of every opcode.
        onlyJuteError(() => decodeZkRequest(concat(hex("00000001"), Uint8Array.of(0, 0, 0, opcode & 0xff), bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it("every truncation of a valid request with a body", () => {
    fc.assert(
      fc.property(int32, request, (xid, req) => {
        const full = encodeZkRequest(xid, req).subarray(4);
        const hasBody = !["ping", "closeSession", "whoAmI", "unknown"].includes(req.type);
        const accepted: number[] = [];
        for (let n = 0; n < full.length; n++) {
          if (n >= 8 && !hasBody) continue;
          try {
            decodeZkRequest(full.subarray(0, n));
            accepted.push(n);
          } catch (e) {
            if (!(e instanceof JuteError)) throw e;
          }
        }
        expect(accepted).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it("single-byte corruptions of valid requests", () => {
    fc.assert(
      fc.property(request, fc.nat(), fc.integer({ min: 0, max: 255 }), (req, at, value) => {
        const f = encodeZkRequest(1, req).subarray(4).slice();
        if (f.length > 0) f[at % f.length] = value;
        onlyJuteError(() => decodeZkRequest(f));
      }),
      { numRuns: 1000 },
    );
  });
});
