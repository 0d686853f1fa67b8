import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.ts";
import { fetchJson, fetchStatuses, formatStatusTable, runStatus, statusAddresses, statusExitCode, type FetchJson, type NodeStatus, type StatusResult } from "../src/status.ts";
import { capture } from "./helpers.ts";

function fakeStatus(id: number, state: string, extra: Partial<NodeStatus> = {}): NodeStatus {
  return {
    serverId: id,
    state,
    serving: true,
    leader: 2,
    epoch: 1,
    lastZxid: 4294967299,
    lastZxidHex: "0x100000003",
    digest: "abc",
    nodes: 4,
    sessions: id === 2 ? 1 : 0,
    clients: id === 2 ? 1 : 0,
    peers: [
      { id: 1, address: "127.0.0.1:2888", self: id === 1, connected: true },
      { id: 2, address: "127.0.0.1:2889", self: id === 2, connected: true },
      { id: 3, address: "127.0.0.1:2890", self: id === 3, connected: id !== 1 },
    ],
    pid: 1000 + id,
    uptimeMs: 5000,
    ...extra,
  };
}

/** A fetch that answers from a table keyed by URL; other URLs fail like a closed port. */
function fakeFetch(answers: Record<string, unknown>): FetchJson & { urls: string[] } {
  const urls: string[] = [];
  const fn = async (url: string) => {
    urls.push(url);
    if (url in answers) return answers[url];
    throw new Error(`connect ECONNREFUSED ${url.replace(/^http:\/\/|\/status$/g, "")}`);
  };
  return Object.assign(fn, { urls });
}

describe("statusAddresses()", () => {
  it("splits the connect string, ignores a chroot and defaults the port to 8181", () => {
    expect(statusAddresses("a:1,b:2/some/chroot")).toEqual(["a:1", "b:2"]);
    expect(statusAddresses(" a , b:9000 ")).toEqual(["a:8181", "b:9000"]);
    expect(statusAddresses("[::1]:8182,::1")).toEqual(["[::1]:8182", "[::1]:8181"]);
  });

  it.each(["", "/chroot", "a:0", "a:x", ":80", "a:70000"])("rejects %j", (connect) => {
    expect(() => statusAddresses(connect)).toThrow(UsageError);
  });
});

describe("formatStatusTable()", () => {
  it("prints a header and one aligned row per node, like srvr", () => {
    const results: StatusResult[] = [
      { address: "127.0.0.1:8181", status: fakeStatus(1, "following") },
      { address: "127.0.0.1:8182", status: fakeStatus(2, "leading") },
      { address: "127.0.0.1:8183", status: fakeStatus(3, "looking", { serving: false, leader: null, pid: 99999 }) },
    ];
    expect(formatStatusTable(results)).toEqual([
      "NODE  ADDRESS         STATE                  LEADER  EPOCH  ZXID         SESSIONS  CLIENTS  PEERS  PID",
      "1     127.0.0.1:8181  following              2       1      0x100000003  0         0        2/3    1001",
      "2     127.0.0.1:8182  leading                2       1      0x100000003  1         1        3/3    1002",
      "3     127.0.0.1:8183  looking (not serving)  -       1      0x100000003  0         0        3/3    99999",
    ]);
  });

  it("shows an unreachable node with the error at the end of its row", () => {
    const lines = formatStatusTable([
      { address: "127.0.0.1:8181", status: fakeStatus(1, "standalone", { peers: [] }) },
      { address: "127.0.0.1:8182", error: "connect ECONNREFUSED 127.0.0.1:8182" },
    ]);
    expect(lines[1]).toBe("1     127.0.0.1:8181  standalone   2       1      0x100000003  0         0        -      1001");
    expect(lines[2]).toBe("-     127.0.0.1:8182  unreachable  -       -      -            -         -        -      -     connect ECONNREFUSED 127.0.0.1:8182");
  });

  it("prints - for fields a node does not report", () => {
    expect(formatStatusTable([{ address: "h:1", status: {} }])[1]).toBe("-     h:1      -      -       -      -     -         -        -      -");
  });
});

describe("statusExitCode()", () => {
  it("is 0 when some node answered and serves, 1 otherwise", () => {
    const serving: StatusResult = { address: "a:1", status: fakeStatus(1, "leading") };
    const notServing: StatusResult = { address: "b:1", status: fakeStatus(2, "looking", { serving: false }) };
    const down: StatusResult = { address: "c:1", error: "refused" };
    expect(statusExitCode([down, serving])).toBe(0);
    expect(statusExitCode([notServing, down])).toBe(1);
    expect(statusExitCode([down])).toBe(1);
    expect(statusExitCode([])).toBe(1);
  });
});

describe("runStatus()", () => {
  const answers = { "http://127.0.0.1:8181/status": fakeStatus(1, "following"), "http://127.0.0.1:8182/status": fakeStatus(2, "leading") };

  it("asks every host of --connect and prints the table", async () => {
    const fetch = fakeFetch(answers);
    const io = capture();
    expect(await runStatus(["--connect", "127.0.0.1:8181,127.0.0.1:8182,127.0.0.1:8183/app"], {}, io, fetch)).toBe(0);
    expect(fetch.urls.sort()).toEqual(["http://127.0.0.1:8181/status", "http://127.0.0.1:8182/status", "http://127.0.0.1:8183/status"]);
    expect(io.stdout).toHaveLength(4);
    expect(io.stdout[3]).toMatch(/^-\s+127\.0\.0\.1:8183\s+unreachable .* connect ECONNREFUSED 127\.0\.0\.1:8183$/);
  });

  it("defaults to $KEEPER_CONNECT, then 127.0.0.1:8181", async () => {
    const a = fakeFetch({});
    await runStatus([], { KEEPER_CONNECT: "x:1,y:2" }, capture(), a);
    expect(a.urls).toEqual(["http://x:1/status", "http://y:2/status"]);
    const b = fakeFetch({});
    expect(await runStatus([], { KEEPER_CONNECT: "" }, capture(), b)).toBe(1);
    expect(b.urls).toEqual(["http://127.0.0.1:8181/status"]);
  });

  it("--json prints the raw statuses in order, with {address, error} for unreachable nodes", async () => {
    const io = capture();
    expect(await runStatus(["--json", "--connect", "127.0.0.1:8183,127.0.0.1:8182"], {}, io, fakeFetch(answers))).toBe(0);
    const parsed = JSON.parse(io.stdout.join("\n"));
    expect(parsed).toEqual([{ address: "127.0.0.1:8183", error: "connect ECONNREFUSED 127.0.0.1:8183" }, answers["http://127.0.0.1:8182/status"]]);
  });

  it("rejects a body that is not an object", async () => {
    const results = await fetchStatuses(["a:1"], async () => [1, 2]);
    expect(results).toEqual([{ address: "a:1", error: "/status did not return a JSON object" }]);
  });

  it("exits 2 for bad flags and prints help for --help", async () => {
    const io = capture();
    expect(await runStatus(["--bogus"], {}, io, fakeFetch({}))).toBe(2);
    expect(io.stderr[0]).toBe("keeper status: unknown option --bogus");
    expect(await runStatus(["--timeout-ms", "0"], {}, capture(), fakeFetch({}))).toBe(2);
    const help = capture();
    expect(await runStatus(["--help"], {}, help, fakeFetch({}))).toBe(0);
    expect(help.stdout.join("\n")).toMatch(/Exit codes: 0 if at least one node answered and some node is serving/);
  });

  it("reports a closed port through the real HTTP fetch", async () => {
    const [result] = await fetchStatuses(["127.0.0.1:1"], fetchJson, 500);
    expect(result).toMatchObject({ address: "127.0.0.1:1", error: expect.stringMatching(/ECONNREFUSED|EACCES/) });
  });
});
