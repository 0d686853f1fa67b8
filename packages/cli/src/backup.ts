// `keeper backup FILE` and `keeper restore FILE`, as etcdctl snapshot save / restore.
// backup asks a live member for GET /backup (a consistent snapshot at one zxid, streamed by the
// server), checks every frame, the SHA-256 and the rebuilt tree's digest as the bytes arrive,
// and only then renames the file into place. restore checks the same and seeds a node's store.
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { get as httpGet, type IncomingMessage } from "node:http";
import { formatZxid, asZxid } from "@keeper/protocol";
import { parseArgv, parseInteger, stringOption, booleanOption } from "./args.ts";
import { outputArg } from "./command-args.ts";
import { DEFAULT_CONNECT } from "./connection.ts";
import { ExitCode, UsageError, reportError } from "./errors.ts";
import type { Io } from "./io.ts";
import { nodeDataDir, type Env } from "./server-options.ts";
import { statusAddresses } from "./status.ts";

export const BACKUP_CONNECT_TIMEOUT_MS = 10_000;
const PROGRESS_EVERY_MS = 1_000;

export function backupHelp(): string {
  return [
    "usage: keeper backup FILE [--connect HOSTS] [--auth super:PASSWORD] [-o json] [--timeout-ms N]",
    "",
    "Saves a consistent snapshot of the ensemble's data to FILE: the first node of HOSTS that",
    "answers streams its state at one zxid (GET /backup on its admin port; a follower will do,",
    "and the node goes on serving). Every frame is checksummed, the whole file carries a",
    "SHA-256, and the tree rebuilt from it must match the node's digest before FILE is written",
    "(it is written as FILE.partial and renamed). Progress goes to standard error.",
    "",
    `  --connect HOSTS   admin addresses host:port[,...]; default $KEEPER_CONNECT, else ${DEFAULT_CONNECT}`,
    "  --auth U:PW       the super user's credentials (default $KEEPER_AUTH): a node with a super",
    "                    user configured gives backups only to it; one without, only on loopback",
    "  -o, --output F    text (default) or json: the summary (zxid, digest, nodes, sha256, ...)",
    `  --timeout-ms N    time allowed to connect to each node (default ${BACKUP_CONNECT_TIMEOUT_MS})`,
    "",
    "Exit codes: 0 saved, 1 no node gave a complete, valid backup, 2 usage error.",
  ].join("\n");
}

export function restoreHelp(): string {
  return [
    "usage: keeper restore FILE --data-dir DIR [--server-id N] [-o json]",
    "",
    "Seeds the store of node N (DIR/nodeN, as `keeper server --data-dir DIR --server-id N` uses",
    "it) from a backup, after checking it as backup does. Restore every member of a new",
    "ensemble from the same file, then start them: they all serve the backup's state, and new",
    "writes continue after its zxid. The store directory must not exist or be empty.",
    "",
    "  --data-dir DIR    the parent data directory (KEEPER_DATA_DIR)",
    "  --server-id N     the node to seed; default $KEEPER_SERVER_ID, else 1",
    "  -o, --output F    text (default) or json",
  ].join("\n");
}

interface Summary {
  zxid: number;
  digest: string;
  nodes: number;
  sessions: number;
  sha256: string;
  bytes: number;
}

function describe(s: Summary): string {
  return `zxid ${formatZxid(asZxid(s.zxid))}, ${s.nodes} znodes, ${s.sessions} sessions, digest ${s.digest}, ${s.bytes} bytes, sha256 ${s.sha256}`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Calls `report` at most once per second with the latest count. */
function throttle(report: (bytes: number) => void): (bytes: number) => void {
  let last = Date.now();
  return (bytes) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    report(bytes);
  };
}

function request(url: string, timeoutMs: number, auth: string | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = auth ? { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {};
    const req = httpGet(url, { headers }, (res) => {
      req.setTimeout(0);
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** Streams one node's /backup into `partial`, checking it on the way; throws on anything short of a valid file. */
async function fetchBackup(address: string, partial: string, timeoutMs: number, auth: string | undefined, io: Io): Promise<Summary> {
  const { BackupVerifier } = await import("@keeper/server");
  const res = await request(`http://${address}/backup`, timeoutMs, auth);
  if (res.statusCode !== 200) {
    // The node says why (e.g. the super user's credentials are needed): pass it on.
    let body = "";
    for await (const data of res as AsyncIterable<Buffer>) if (body.length < 1024) body += data.toString();
    throw new Error(`HTTP ${res.statusCode} ${res.statusMessage ?? ""}${body ? `: ${body.trim()}` : ""}`.trim());
  }
  io.err(`keeper backup: ${address} is streaming its state at zxid ${res.headers["x-keeper-zxid"] ?? "?"}`);
  const verifier = new BackupVerifier();
  const out = createWriteStream(partial, { flags: "wx" });
  const progress = throttle((bytes) => io.err(`keeper backup: ${mib(bytes)} received, ${verifier.chunks} chunks checked`));
  try {
    for await (const data of res as AsyncIterable<Buffer>) {
      await verifier.push(data);
      if (!out.write(data)) await new Promise<void>((r) => out.once("drain", () => r()));
      progress(verifier.bytes);
    }
    const summary = verifier.end();
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return summary;
  } catch (err) {
    res.destroy();
    out.destroy();
    throw err;
  }
}

export async function runBackup(argv: readonly string[], env: Env, io: Io): Promise<number> {
  let file: string;
  let addresses: string[];
  let asJson: boolean;
  let timeoutMs = BACKUP_CONNECT_TIMEOUT_MS;
  let auth: string | undefined;
  try {
    const args = parseArgv(argv, { help: { type: "boolean", short: "h" }, connect: { type: "string" }, auth: { type: "string" }, output: { type: "string", short: "o" }, "timeout-ms": { type: "string" } }, true);
    auth = stringOption(args, "auth") ?? (env.KEEPER_AUTH || undefined);
    if (auth !== undefined && !auth.includes(":")) throw new UsageError("--auth: expected USER:PASSWORD");
    if (booleanOption(args, "help")) {
      io.out(backupHelp());
      return ExitCode.OK;
    }
    if (args.positionals.length !== 1) throw new UsageError("backup: expected one FILE (see backup --help)");
    file = args.positionals[0]!;
    addresses = statusAddresses(stringOption(args, "connect") ?? (env.KEEPER_CONNECT || DEFAULT_CONNECT));
    asJson = outputArg(args) === "json";
    const rawTimeout = stringOption(args, "timeout-ms");
    if (rawTimeout !== undefined) timeoutMs = parseInteger(rawTimeout, "--timeout-ms");
    if (timeoutMs <= 0) throw new UsageError("--timeout-ms: must be positive");
    if (await stat(file).then(() => true, () => false)) throw new UsageError(`backup: ${file} exists already; choose a new name`);
  } catch (err) {
    return reportError(io, err, "keeper backup");
  }
  const partial = `${file}.partial`;
  for (const address of addresses) {
    try {
      const summary = await fetchBackup(address, partial, timeoutMs, auth, io);
      await rename(partial, file);
      io.out(asJson ? JSON.stringify({ file, from: address, ...summary, zxidHex: formatZxid(asZxid(summary.zxid)) }) : `saved ${file} from ${address}: ${describe(summary)}`);
      return ExitCode.OK;
    } catch (err) {
      await rm(partial, { force: true });
      io.err(`keeper backup: ${address}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  io.err("keeper backup: no node gave a complete backup");
  return ExitCode.FAILED;
}

export async function runRestore(argv: readonly string[], env: Env, io: Io): Promise<number> {
  let file: string;
  let storeDir: string;
  let asJson: boolean;
  try {
    const args = parseArgv(argv, { help: { type: "boolean", short: "h" }, "data-dir": { type: "string" }, "server-id": { type: "string" }, output: { type: "string", short: "o" } }, true);
    if (booleanOption(args, "help")) {
      io.out(restoreHelp());
      return ExitCode.OK;
    }
    if (args.positionals.length !== 1) throw new UsageError("restore: expected one FILE (see restore --help)");
    file = args.positionals[0]!;
    const dataDir = stringOption(args, "data-dir") ?? (env.KEEPER_DATA_DIR || undefined);
    if (dataDir === undefined) throw new UsageError("restore: --data-dir DIR is required");
    const rawId = stringOption(args, "server-id") ?? (env.KEEPER_SERVER_ID || "1");
    const serverId = parseInteger(rawId, "--server-id");
    if (serverId < 1 || serverId > 255) throw new UsageError("--server-id: must be 1..255");
    storeDir = nodeDataDir(dataDir, serverId);
    asJson = outputArg(args) === "json";
    if (!(await stat(file).then((s) => s.isFile(), () => false))) throw new UsageError(`restore: ${file} is not a file`);
  } catch (err) {
    return reportError(io, err, "keeper restore");
  }
  try {
    const { restoreBackup } = await import("@keeper/server");
    const progress = throttle((bytes) => io.err(`keeper restore: ${mib(bytes)} checked and stored`));
    const summary = await restoreBackup(createReadStream(file), storeDir, progress);
    io.out(asJson ? JSON.stringify({ file, storeDir, ...summary, zxidHex: formatZxid(asZxid(summary.zxid)) }) : `restored ${storeDir} from ${file}: ${describe(summary)}`);
    return ExitCode.OK;
  } catch (err) {
    return reportError(io, err, "keeper restore");
  }
}
