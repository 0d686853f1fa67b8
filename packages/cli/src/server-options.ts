// `keeper server` settings from three sources, lowest precedence first: a JSON config file,
// KEEPER_* environment variables, command-line flags. Flag and variable names are derived
// from the ServerConfig field names, so a new field needs one line in SERVER_FIELDS.
import { envName, kebabCase, parseArgv, parseInteger, stringOption, type OptionSpecs, type ParsedArgv } from "./args.ts";
import { UsageError } from "./errors.ts";
import type { ServerConfig } from "./ports.ts";

type FieldKind = "integer" | "string" | "boolean";
interface FieldDoc {
  kind: FieldKind;
  help: string;
}

export const SERVER_FIELDS: Readonly<Record<keyof ServerConfig, FieldDoc>> = {
  serverId: { kind: "integer", help: "this node's id in the ensemble, 1..255 (default 1)" },
  dataDir: { kind: "string", help: "parent directory of the node's store: node<id> is appended (default ./data)" },
  host: { kind: "string", help: "address the client listeners bind to (default: this node's address in --peers, or 127.0.0.1 standalone; 0.0.0.0 binds all)" },
  clientPort: { kind: "integer", help: "native client WebSocket + admin HTTP port (default 8180+id); alias --port" },
  zkPort: { kind: "integer", help: "ZooKeeper wire protocol (TCP) port (default 2180+id); -1 turns it off" },
  secureZkPort: { kind: "integer", help: "ZooKeeper wire protocol over TLS: ZooKeeper's secureClientPort (default -1: off); needs --client-tls-cert/--client-tls-key" },
  clientTlsCert: { kind: "string", help: "PEM certificate for clients: the client port then serves HTTPS and wss://, and --secure-zk-port may be opened" },
  clientTlsKey: { kind: "string", help: "PEM private key of --client-tls-cert" },
  clientTlsCa: { kind: "string", help: "PEM CA for client certificates: a client presenting one it signed is x509:<subject DN> for ACLs (ZooKeeper's X509AuthenticationProvider)" },
  peers: { kind: "string", help: "the ensemble as id=host:peerPort,... (same on every node); empty = standalone" },
  peerHost: { kind: "string", help: "address the peer listener binds to (default: this node's address in --peers)" },
  peerSecret: { kind: "string", help: "the ensemble's shared peer secret, at least 16 characters, the same on every node (prefer the variable or --peer-secret-file: flags show in ps)" },
  peerSecretFile: { kind: "string", help: "file holding the peer secret (a compose secret: /run/secrets/NAME)" },
  peerTlsCert: { kind: "string", help: "PEM certificate for peer links, subject CN server.<id>; with --peer-tls-key and --peer-tls-ca: mutual TLS" },
  peerTlsKey: { kind: "string", help: "PEM private key of --peer-tls-cert" },
  peerTlsCa: { kind: "string", help: "PEM CA that signed every node's peer certificate" },
  superDigest: { kind: "string", help: "ZooKeeper's superDigest super:<base64 sha1(super:password)>: that digest user may do anything (default: none)" },
  peerPort: { kind: "integer", help: "peer port to listen on (default: this node's port in --peers)" },
  readOnlyMode: { kind: "boolean", help: "serve reads to canBeReadOnly clients while without a quorum: true or false (default true)" },
  tickMs: { kind: "integer", help: "length of one tick in ms: heartbeat period and session expiry unit (default 100)" },
  syncLimitTicks: { kind: "integer", help: "ticks of silence after which a follower drops its leader (default 20: 2 s)" },
  initLimitTicks: { kind: "integer", help: "ticks allowed for joining a new leader (default 20)" },
  minSessionTimeoutMs: { kind: "integer", help: "smallest session timeout granted, at least 2 ticks (default 1000)" },
  maxSessionTimeoutMs: { kind: "integer", help: "largest session timeout granted (default 60000)" },
  snapshotEveryTxns: { kind: "integer", help: "snapshot after about this many logged transactions, at a random point in the upper half (default 100000)" },
  snapshotEveryBytes: { kind: "integer", help: "snapshot after about this many bytes of log, whichever comes first (default 268435456)" },
  logRetainTxns: { kind: "integer", help: "log entries kept behind the oldest retained snapshot (default 50000)" },
  diskLowSpaceBytes: { kind: "integer", help: "free bytes under the data dir below which a low-space warning is logged and /status shows disk.lowSpace (default 1073741824)" },
  snapshotsRetained: { kind: "integer", help: "snapshots kept, 1..100; boot falls back to an older one if the newest fails its checks (default 3)" },
  dataBytesMax: { kind: "integer", help: "largest znode data accepted, in bytes (default 1048576)" },
  clientsMax: { kind: "integer", help: "most client connections served at once, both client ports (default 10000; fewer if the open-files limit is low)" },
  allowedOrigins: { kind: "string", help: "web pages allowed to open a WebSocket, comma-separated origins like https://app.example.com, or * (default: only the node's own pages; non-browser clients are not affected)" },
  clientsPerIpMax: { kind: "integer", help: "most connections from one address, both client ports: ZooKeeper's maxClientCnxns; 0 = no limit (default 60)" },
  fourLetterWords: { kind: "string", help: "four-letter words answered, comma-separated, or * for all: ZooKeeper's 4lw.commands.whitelist (default srvr)" },
  replyBytesMax: { kind: "integer", help: "largest reply built, in bytes; a bigger read is refused with BADARGUMENTS (default 1114112, or dataBytesMax + 65536 if larger)" },
  globalOutstandingMax: { kind: "integer", help: "requests in flight on the node, all clients together, before it stops reading from them (default 1000)" },
  slowRequestMs: { kind: "integer", help: "log a request answered more than this many ms after it arrived, with its operation and time, at most once a second; 0 = never (default 1000)" },
  logLevel: { kind: "string", help: "fatal, error, warn, info, debug, trace or silent (default info)" },
};

const FIELD_NAMES = Object.keys(SERVER_FIELDS) as Array<keyof ServerConfig>;

export type ServerInvocation = { help: true } | { help: false; partial: Partial<ServerConfig> };

export type Env = Readonly<Record<string, string | undefined>>;

/** Merges file, environment and flags into the partial config handed to resolveServerConfig. */
export function parseServerInvocation(argv: readonly string[], env: Env, readFile: (path: string) => string): ServerInvocation {
  const args = parseArgv(argv, serverOptionSpecs(), false);
  if (args.values.help === true) return { help: true };
  const configPath = stringOption(args, "config");
  const fromFile = configPath === undefined ? {} : configFromFile(configPath, readFile);
  const partial: Partial<ServerConfig> = { ...fromFile, ...configFromEnv(env), ...configFromFlags(args) };
  if (partial.dataDir !== undefined) partial.dataDir = nodeDataDir(partial.dataDir, partial.serverId ?? 1);
  return { help: false, partial };
}

/** A node's store lives in <parent>/node<id>, so one parent serves a whole local ensemble. */
export function nodeDataDir(parent: string, serverId: number): string {
  const trimmed = parent.length > 1 ? parent.replace(/\/+$/, "") : parent;
  return trimmed === "/" ? `/node${serverId}` : `${trimmed}/node${serverId}`;
}

export function serverOptionSpecs(): OptionSpecs {
  const specs: OptionSpecs = { help: { type: "boolean", short: "h" }, config: { type: "string" }, port: { type: "string" } };
  for (const field of FIELD_NAMES) specs[kebabCase(field)] = { type: "string" };
  return specs;
}

function parseField(field: keyof ServerConfig, raw: string, source: string): unknown {
  switch (SERVER_FIELDS[field].kind) {
    case "integer":
      return parseInteger(raw, source);
    case "boolean":
      if (/^(true|1|yes|on)$/i.test(raw.trim())) return true;
      if (/^(false|0|no|off)$/i.test(raw.trim())) return false;
      throw new UsageError(`${source}: expected true or false, got "${raw}"`);
    default:
      return raw;
  }
}

export function configFromFlags(args: ParsedArgv): Partial<ServerConfig> {
  const port = stringOption(args, "port");
  if (port !== undefined && stringOption(args, "client-port") !== undefined) throw new UsageError("--port and --client-port are the same setting; give one");
  const partial: Record<string, unknown> = {};
  for (const field of FIELD_NAMES) {
    const flag = kebabCase(field);
    const raw = field === "clientPort" ? (stringOption(args, flag) ?? port) : stringOption(args, flag);
    if (raw === undefined) continue;
    const source = field === "clientPort" && port !== undefined ? "--port" : `--${flag}`;
    partial[field] = parseField(field, raw, source);
  }
  return partial as Partial<ServerConfig>;
}

/** KEEPER_<FIELD> variables; an empty value counts as unset, as compose files often leave them. */
export function configFromEnv(env: Env): Partial<ServerConfig> {
  const partial: Record<string, unknown> = {};
  for (const field of FIELD_NAMES) {
    const name = envName(field);
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    partial[field] = parseField(field, raw, name);
  }
  return partial as Partial<ServerConfig>;
}

/** A JSON object whose keys are ServerConfig field names; any other key is an error. */
export function configFromFile(path: string, readFile: (path: string) => string): Partial<ServerConfig> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new UsageError(`cannot read config file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError(`config file ${path} must hold a JSON object`);
  const partial: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(SERVER_FIELDS, key)) throw new UsageError(`config file ${path}: unknown key "${key}" (known keys: ${FIELD_NAMES.join(", ")})`);
    const kind = SERVER_FIELDS[key as keyof ServerConfig].kind;
    const ok = kind === "integer" ? typeof value === "number" && Number.isInteger(value) : kind === "boolean" ? typeof value === "boolean" : typeof value === "string";
    if (!ok) throw new UsageError(`config file ${path}: "${key}" must be ${kind === "integer" ? "an integer" : kind === "boolean" ? "true or false" : "a string"}, got ${JSON.stringify(value)}`);
    partial[key] = value;
  }
  return partial as Partial<ServerConfig>;
}

export function serverHelp(): string {
  const rows = FIELD_NAMES.map((field) => {
    const value = SERVER_FIELDS[field].kind === "integer" ? "N" : field === "dataDir" ? "DIR" : field === "logLevel" ? "LEVEL" : /File$|Tls/.test(field) ? "FILE" : field === "peerSecret" ? "SECRET" : field === "superDigest" ? "DIGEST" : field === "fourLetterWords" ? "WORDS" : field === "allowedOrigins" ? "ORIGINS" : "ADDR";
    return [`--${kebabCase(field)} ${value}`, envName(field), SERVER_FIELDS[field].help] as const;
  });
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return [
    "usage: keeper server [--config FILE] [options]",
    "",
    "Starts one Keeper node and serves until SIGINT or SIGTERM.",
    "",
    "Settings, lowest precedence first: the JSON config file (--config FILE, keys are the",
    "camelCase field names, e.g. {\"serverId\": 2, \"tickMs\": 100}), environment variables,",
    "then flags.",
    "",
    ...rows.map(([flag, env, help]) => `  ${flag.padEnd(w0)}  ${env.padEnd(w1)}  ${help}`),
    `  ${"--config FILE".padEnd(w0)}  ${"".padEnd(w1)}  JSON config file`,
    "",
    "The data directory names a parent: the node's store goes in <dir>/node<id>, so",
    "`keeper server --data-dir ./data` (what `npm start` runs) stores node 1 in ./data/node1",
    "and `--server-id 2 --data-dir ./data` stores node 2 in ./data/node2. The same holds for",
    "KEEPER_DATA_DIR and the file's dataDir. Without any, the store is ./data/node<id>.",
    "",
    "Exit codes: 0 after a clean stop, 1 if the server fails to start or stop, 2 for a bad",
    "flag, variable or config file.",
  ].join("\n");
}
