import { Code } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { HostRing, hostUrl, parseConnectString, shuffle } from "../src/connect-string.ts";

describe("parseConnectString()", () => {
  it.each([
    ["a:1", [{ host: "a", port: 1 }], ""],
    ["a", [{ host: "a", port: 8181 }], ""],
    ["a:1,b,c:3", [{ host: "a", port: 1 }, { host: "b", port: 8181 }, { host: "c", port: 3 }], ""],
    ["a:1,b:2/app/x", [{ host: "a", port: 1 }, { host: "b", port: 2 }], "/app/x"],
    ["a:1/", [{ host: "a", port: 1 }], ""],
    ["[::1]:9000,[::1]", [{ host: "[::1]", port: 9000 }, { host: "[::1]", port: 8181 }], ""],
    [" a:1 , b:2 ", [{ host: "a", port: 1 }, { host: "b", port: 2 }], ""],
  ])("parses %j into hosts and chroot", (input, hosts, chroot) => {
    expect(parseConnectString(input)).toEqual({ hosts, chroot });
  });

  it.each(["", "/app", "a:0", "a:x", "a:70000", "a:1/app/", "a:1/app//x", ":1"])("rejects %j with BADARGUMENTS", (input) => {
    expect(() => parseConnectString(input)).toThrow(expect.objectContaining({ code: Code.BADARGUMENTS }));
  });
});

describe("hostUrl()", () => {
  it("builds ws:// URLs, bracketing bare IPv6", () => {
    expect(hostUrl({ host: "h", port: 5 })).toBe("ws://h:5/");
    expect(hostUrl({ host: "[::1]", port: 5 })).toBe("ws://[::1]:5/");
    expect(hostUrl({ host: "::1", port: 5 })).toBe("ws://[::1]:5/");
  });
});

describe("shuffle()", () => {
  it("is a permutation fixed by the injected random", () => {
    const items = [1, 2, 3, 4, 5];
    expect(shuffle(items, () => 0.999_999)).toEqual(items);
    expect(shuffle(items, () => 0)).toEqual([2, 3, 4, 5, 1]);
    let seed = 7;
    const seeded = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const out = shuffle(items, seeded);
    expect([...out].sort()).toEqual(items);
  });
});

describe("HostRing", () => {
  it("goes round-robin and flags the end of each round", () => {
    const ring = new HostRing(["a", "b"]);
    expect([ring.take(), ring.take(), ring.take()]).toEqual([
      { url: "a", roundDone: false },
      { url: "b", roundDone: true },
      { url: "a", roundDone: false },
    ]);
  });
});
