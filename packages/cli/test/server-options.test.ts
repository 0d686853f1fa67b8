import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
// The real resolver, so the validation messages tested here are the server's own. Imported by
// path because @keeper/server's entry pulls in LevelDB and sockets, which these tests avoid.
import { resolveServerConfig } from "../../server/src/config.ts";
import { ExitCode } from "../src/errors.ts";
import type { RunningServer, ServerConfig, ServerModule } from "../src/ports.ts";
import { nodeDataDir, parseServerInvocation } from "../src/server-options.ts";
import { runServer, type ServerDeps } from "../src/server.ts";
import { capture } from "./helpers.ts";

const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file, open '${path}'`);
};
const files = (contents: Record<string, string>) => (path: string) => {
  const text = contents[path];
  if (text === undefined) return noFile(path);
  return text;
};

function partial(argv: string[], env: Record<string, string> = {}, readFile = noFile): Partial<ServerConfig> {
  const inv = parseServerInvocation(argv, env, readFile);
  if (inv.help) throw new Error("unexpected help");
  return inv.partial;
}

describe("parseServerInvocation()", () => {
  it("takes nothing when nothing is given, leaving the defaults to resolveServerConfig", () => {
    expect(partial([])).toEqual({});
  });

  it("flags beat environment variables, which beat the config file", () => {
    const readFile = files({ "k.json": JSON.stringify({ tickMs: 100, clientPort: 9000, host: "10.0.0.1", logLevel: "warn" }) });
    const env = { KEEPER_TICK_MS: "150", KEEPER_CLIENT_PORT: "9001" };
    const p = partial(["--config", "k.json", "--tick-ms", "175"], env, readFile);
    expect(p).toEqual({ tickMs: 175, clientPort: 9001, host: "10.0.0.1", logLevel: "warn" });
  });

  it("derives every flag and variable name from the field name", () => {
    const env = {
      KEEPER_SERVER_ID: "3",
      KEEPER_HOST: "127.0.0.1",
      KEEPER_CLIENT_PORT: "1",
      KEEPER_TICK_MS: "2",
      KEEPER_MIN_SESSION_TIMEOUT_MS: "4",
      KEEPER_MAX_SESSION_TIMEOUT_MS: "5",
      KEEPER_SNAPSHOT_EVERY_TXNS: "6",
      KEEPER_LOG_RETAIN_TXNS: "7",
      KEEPER_DATA_BYTES_MAX: "8",
      KEEPER_CLIENTS_MAX: "9",
      KEEPER_LOG_LEVEL: "debug",
      KEEPER_DATA_DIR: "/var/keeper",
    };
    expect(partial([], env)).toEqual({
      serverId: 3,
      host: "127.0.0.1",
      clientPort: 1,
      tickMs: 2,
      minSessionTimeoutMs: 4,
      maxSessionTimeoutMs: 5,
      snapshotEveryTxns: 6,
      logRetainTxns: 7,
      dataBytesMax: 8,
      clientsMax: 9,
      logLevel: "debug",
      dataDir: "/var/keeper/node3",
    });
    const argv = ["--server-id", "3", "--host", "h", "--client-port", "1", "--tick-ms", "2", "--min-session-timeout-ms", "4", "--max-session-timeout-ms", "5"];
    argv.push("--snapshot-every-txns", "6", "--log-retain-txns", "7", "--data-bytes-max", "8", "--clients-max", "9", "--log-level", "trace", "--data-dir", "d");
    expect(partial(argv)).toMatchObject({ serverId: 3, host: "h", clientsMax: 9, logLevel: "trace", dataDir: "d/node3", snapshotEveryTxns: 6 });
  });

  it("accepts --port as --client-port, but not both", () => {
    expect(partial(["--port", "7000"])).toEqual({ clientPort: 7000 });
    expect(() => partial(["--port", "7000", "--client-port", "7001"])).toThrow(/--port and --client-port/);
  });

  it("treats an empty environment variable as unset", () => {
    expect(partial([], { KEEPER_TICK_MS: "", KEEPER_HOST: "" })).toEqual({});
  });

  it("appends node<id> to the data directory from any source, with the final id", () => {
    expect(partial(["--data-dir", "./data"])).toEqual({ dataDir: "./data/node1" });
    expect(partial(["--data-dir", "./data/", "--server-id", "2"])).toMatchObject({ dataDir: "./data/node2" });
    expect(partial(["--server-id", "4"], { KEEPER_DATA_DIR: "/d" })).toMatchObject({ dataDir: "/d/node4" });
    const readFile = files({ "c.json": '{"dataDir": "/x", "serverId": 5}' });
    expect(partial(["--config", "c.json"], {}, readFile)).toEqual({ dataDir: "/x/node5", serverId: 5 });
    expect(nodeDataDir("/", 1)).toBe("/node1");
  });

  it("returns help for --help and -h", () => {
    expect(parseServerInvocation(["--help"], {}, noFile)).toEqual({ help: true });
    expect(parseServerInvocation(["-h"], {}, noFile)).toEqual({ help: true });
  });

  it.each([
    [["--tick-ms", "12x"], {}, /--tick-ms: expected an integer, got "12x"/],
    [["--client-port", "1.5"], {}, /--client-port: expected an integer/],
    [["--port", ""], {}, /--port: expected an integer/],
    [[], { KEEPER_CLIENT_PORT: "80 80" }, /KEEPER_CLIENT_PORT: expected an integer, got "80 80"/],
    [[], { KEEPER_SERVER_ID: "1e3" }, /KEEPER_SERVER_ID: expected an integer/],
    [["--bogus", "1"], {}, /unknown option --bogus/],
    [["stray"], {}, /unexpected argument "stray"/],
    [["--tick-ms"], {}, /--tick-ms/],
    [["--config", "missing.json"], {}, /cannot read config file missing.json: ENOENT/],
  ] as const)("rejects %j %j", (argv, env, message) => {
    expect(() => partial([...argv], env)).toThrow(message);
  });

  it.each([
    ['{"tickMs": 100, "ticks": 3}', /unknown key "ticks"/],
    ['{"tickMs": "100"}', /"tickMs" must be an integer, got "100"/],
    ['{"host": 5}', /"host" must be a string/],
    ['{"tickMs": 1.5}', /"tickMs" must be an integer/],
    ["[1]", /must hold a JSON object/],
    ["{tickMs: 1}", /is not valid JSON/],
  ])("rejects config file %s", (text, message) => {
    expect(() => partial(["--config", "c.json"], {}, files({ "c.json": text }))).toThrow(message);
  });
});

class FakeRunning implements RunningServer {
  closed = 0;
  constructor(
    readonly port: number,
    readonly host: string,
  ) {}
  async close(): Promise<void> {
    this.closed++;
  }
  status(): Record<string, unknown> {
    return {};
  }
}

function fakeServer() {
  const started: ServerConfig[] = [];
  const running: FakeRunning[] = [];
  const module: ServerModule = {
    resolveServerConfig,
    startServer: async (config) => {
      started.push(config);
      const r = new FakeRunning(config.clientPort === 0 ? 40123 : config.clientPort, config.host || "127.0.0.1");
      running.push(r);
      return r;
    },
  };
  return { module, started, running };
}

function deps(module: ServerModule, signals = new EventEmitter(), readFile = noFile): ServerDeps {
  return { loadServer: async () => module, readFile, signals: signals as ServerDeps["signals"] };
}

describe("runServer()", () => {
  it.each([
    [["--tick-ms", "12x"], {}, "keeper server: --tick-ms: expected an integer, got \"12x\""],
    [[], { KEEPER_MIN_SESSION_TIMEOUT_MS: "abc" }, "keeper server: KEEPER_MIN_SESSION_TIMEOUT_MS: expected an integer, got \"abc\""],
    [["--server-id", "0"], {}, "serverId must be an integer in 1..255, got 0"],
    [["--server-id", "256"], {}, "serverId must be an integer in 1..255, got 256"],
    [["--min-session-timeout-ms", "5000", "--max-session-timeout-ms", "4000"], {}, "minSessionTimeoutMs (5000) must not exceed maxSessionTimeoutMs (4000)"],
    [["--tick-ms", "1000", "--min-session-timeout-ms", "1500"], {}, "minSessionTimeoutMs (1500) must be at least two ticks (2000)"],
    [["--log-level", "loud"], {}, "logLevel must be one of"],
    [["--client-port", "70000"], {}, "clientPort must be an integer in 0..65535, got 70000"],
  ] as const)("exits 2 for %j %j and says why", async (argv, env, message) => {
    const { module, started } = fakeServer();
    const io = capture();
    expect(await runServer([...argv], env, deps(module), io)).toBe(ExitCode.USAGE);
    expect(io.stderr.join("\n")).toContain(message);
    expect(io.stderr[0]).toMatch(/^keeper server: /);
    expect(started).toEqual([]);
  });

  it("exits 2 naming an unknown config key", async () => {
    const { module } = fakeServer();
    const io = capture();
    const readFile = files({ "k.json": '{"serverid": 2}' });
    expect(await runServer(["--config", "k.json"], {}, deps(module, new EventEmitter(), readFile), io)).toBe(ExitCode.USAGE);
    expect(io.stderr[0]).toContain('unknown key "serverid"');
  });

  it("prints help on stdout and exits 0 without loading the server", async () => {
    const io = capture();
    const d = deps(fakeServer().module);
    d.loadServer = () => Promise.reject(new Error("must not load"));
    expect(await runServer(["--help"], {}, d, io)).toBe(0);
    expect(io.stdout[0]).toBe("usage: keeper server [--config FILE] [options]");
    expect(io.stdout.join("\n")).toContain("KEEPER_MIN_SESSION_TIMEOUT_MS");
    expect(io.stdout.join("\n")).toContain("./data/node1");
  });

  it("starts with the merged config, prints where it listens, and closes on SIGTERM with exit 0", async () => {
    const { module, started, running } = fakeServer();
    const signals = new EventEmitter();
    const io = capture();
    const done = runServer(["--data-dir", "./data", "--port", "0", "--tick-ms", "100"], { KEEPER_SERVER_ID: "2", KEEPER_TICK_MS: "50" }, deps(module, signals), io);
    await waitUntil(() => io.stdout.length > 0);
    expect(started[0]).toMatchObject({ serverId: 2, dataDir: "./data/node2", clientPort: 0, tickMs: 100, host: "" });
    expect(io.stdout).toEqual(["keeper node 2 listening on ws://127.0.0.1:40123 (data ./data/node2)"]);
    signals.emit("SIGTERM");
    signals.emit("SIGINT"); // a repeat while closing is ignored
    expect(await done).toBe(0);
    expect(running[0]!.closed).toBe(1);
  });

  it("uses resolveServerConfig's default data directory when none is given", async () => {
    const { module, started } = fakeServer();
    const signals = new EventEmitter();
    const io = capture();
    const done = runServer([], {}, deps(module, signals), io);
    await waitUntil(() => io.stdout.length > 0);
    expect(io.stdout).toEqual(["keeper node 1 listening on ws://127.0.0.1:8181 (data ./data/node1)"]);
    expect(started[0]!.dataDir).toBe("./data/node1");
    signals.emit("SIGINT");
    expect(await done).toBe(0);
  });

  it("exits 1 when the server fails to start", async () => {
    const module: ServerModule = { resolveServerConfig, startServer: () => Promise.reject(new Error("listen EADDRINUSE: address already in use 0.0.0.0:8181")) };
    const io = capture();
    expect(await runServer([], {}, deps(module), io)).toBe(ExitCode.FAILED);
    expect(io.stderr[0]).toContain("EADDRINUSE");
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setImmediate(r));
  expect(condition()).toBe(true);
}
