// `keeper export`, `keeper import` and `keeper copy --from zk://...`: a subtree with its data,
// ACLs and modes as JSON, and back; or straight from a running Apache ZooKeeper.
import { readFile, writeFile } from "node:fs/promises";
import { pathProblem } from "@keeper/protocol";
import { booleanOption, parseArgv, stringOption, type ParsedArgv } from "./args.ts";
import { CONNECT_HELP, CONNECT_OPTIONS, closeQuietly, connectSettings, openClient } from "./connection.ts";
import { readAll } from "./data-input.ts";
import { ExitCode, UsageError, reportError } from "./errors.ts";
import type { Io } from "./io.ts";
import type { Connect, KeeperClient } from "./ports.ts";
import type { Env } from "./server-options.ts";
import { checkExportDoc, exportTree, importTree, keeperSource, type ExportDoc, type ImportResult } from "./tree-transfer.ts";
import { ZkSource, parseZkUrl } from "./zk-source.ts";

/** Largest export read back (from a file or standard input). */
const IMPORT_BYTES_MAX = 1024 * 1024 * 1024;

export interface TransferDeps {
  loadConnect(): Promise<Connect>;
  stdin: NodeJS.ReadableStream;
}

const connection = ["", "Connection:", ...CONNECT_HELP.map((l) => "  " + l)];

export const EXPORT_HELP = [
  "usage: keeper export PATH [-f FILE]",
  "",
  "Writes PATH and everything below it as JSON: each node's path, data (base64), ACL, mode",
  "(persistent or ephemeral) and the number its next sequential child gets, parents first;",
  "/zookeeper is left out. Containers and TTL nodes read as persistent: the client protocol",
  "does not tell them apart (keeper backup keeps them). Progress goes to stderr.",
  "A walk through the client sees each node as it is when read, not one instant of the tree:",
  "for that, use keeper backup. Digest ACLs are readable only as a user with ADMIN on the node",
  "(--auth); hidden ones are reported and refused by import.",
  "",
  "  -f, --file FILE   write to FILE instead of standard output",
  ...connection,
].join("\n");

export const IMPORT_HELP = [
  "usage: keeper import FILE [--to PATH] [--overwrite]",
  "",
  "Creates the nodes of an export (FILE, or - for standard input) with their data and ACLs,",
  "parents first. Ephemeral nodes are skipped: they belonged to sessions of the source. Each",
  "node's sequence counter then continues from the source's, so the next sequential child is",
  "numbered after the source's last one (this needs ADMIN on the node, which the import's",
  "own session has on what it creates).",
  "",
  "  --to PATH     where the export's root goes (default: the same path)",
  "  --overwrite   give existing nodes the exported data and ACL (default: stop at the first)",
  ...connection,
].join("\n");

export const COPY_HELP = [
  "usage: keeper copy --from zk://HOST[:PORT][/PATH] [--to PATH] [--from-auth USER:PW] [--overwrite]",
  "",
  "Copies a subtree from a running Apache ZooKeeper (its client port, 2181 by default) into",
  "Keeper: data, ACLs, persistent nodes and sequence counters, as export then import would;",
  "ephemerals are skipped, containers and TTL nodes arrive as persistent ones (ZooKeeper does",
  "not show clients which they are). --from-auth authenticates to ZooKeeper (digest) so",
  "protected nodes can be read.",
  "",
  "  --to PATH     where PATH goes in Keeper (default: the same path)",
  "  --overwrite   give existing nodes the copied data and ACL",
  ...connection,
].join("\n");

function pathOption(args: ParsedArgv, name: string, fallback: string): string {
  const path = stringOption(args, name) ?? fallback;
  const problem = pathProblem(path, false);
  if (problem !== undefined) throw new UsageError(`--${name} "${path}": ${problem}`);
  return path;
}

async function withSession<T>(argv: readonly string[], specs: Parameters<typeof parseArgv>[1], env: Env, deps: TransferDeps, io: Io, help: string, prepare: (args: ParsedArgv) => Promise<T> | T, run: (client: KeeperClient, prepared: T) => Promise<number>): Promise<number> {
  let prepared: T;
  let settings;
  try {
    const args = parseArgv(argv, { help: { type: "boolean", short: "h" }, ...specs, ...CONNECT_OPTIONS }, true);
    if (booleanOption(args, "help")) {
      io.out(help);
      return ExitCode.OK;
    }
    settings = connectSettings(args, env);
    prepared = await prepare(args);
  } catch (err) {
    return reportError(io, err);
  }
  let client: KeeperClient | undefined;
  try {
    client = await openClient(await deps.loadConnect(), settings);
    return await run(client, prepared);
  } catch (err) {
    return reportError(io, err);
  } finally {
    if (client) await closeQuietly(client);
  }
}

const progressLine = (io: Io, verb: string) => (count: number) => io.err(`keeper: ${verb} ${count} nodes`);

export function runExport(argv: readonly string[], env: Env, deps: TransferDeps, io: Io): Promise<number> {
  return withSession(
    argv,
    { file: { type: "string", short: "f" } },
    env,
    deps,
    io,
    EXPORT_HELP,
    (args) => {
      if (args.positionals.length !== 1) throw new UsageError("export: expected one PATH (see export --help)");
      const path = args.positionals[0]!;
      const problem = pathProblem(path, false);
      if (problem !== undefined) throw new UsageError(`invalid path "${path}": ${problem}`);
      return { path, file: stringOption(args, "file") };
    },
    async (client, { path, file }) => {
      const doc = await exportTree(keeperSource(client), path, progressLine(io, "exported"), (w) => io.err(`keeper: warning: ${w}`));
      const text = JSON.stringify(doc, null, 1);
      if (file === undefined) io.out(text);
      else await writeFile(file, text + "\n", { flag: "wx" });
      io.err(`keeper: exported ${doc.nodes.length} nodes under ${path}${file === undefined ? "" : ` to ${file}`}`);
      return ExitCode.OK;
    },
  );
}

export function runImport(argv: readonly string[], env: Env, deps: TransferDeps, io: Io): Promise<number> {
  return withSession(
    argv,
    { to: { type: "string" }, overwrite: { type: "boolean" } },
    env,
    deps,
    io,
    IMPORT_HELP,
    async (args) => {
      if (args.positionals.length !== 1) throw new UsageError("import: expected one FILE, or - for standard input (see import --help)");
      const file = args.positionals[0]!;
      let text: string;
      try {
        text = file === "-" ? new TextDecoder().decode(await readAll(deps.stdin, IMPORT_BYTES_MAX)) : await readFile(file, "utf8");
      } catch (err) {
        throw new UsageError(`import: cannot read ${file}: ${(err as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new UsageError(`import: ${file} is not JSON: ${(err as Error).message}`);
      }
      const doc = checkExportDoc(parsed);
      return { doc, dest: pathOption(args, "to", doc.root), overwrite: booleanOption(args, "overwrite") };
    },
    async (client, { doc, dest, overwrite }) => report(io, await importTree(client, doc, dest, overwrite, progressLine(io, "imported")), dest),
  );
}

function report(io: Io, r: ImportResult, dest: string): number {
  io.out(`created ${r.created}, overwrote ${r.overwritten}, skipped ${r.skippedEphemerals} ephemeral nodes, continued ${r.sequencesCarried} sequence counters under ${dest}`);
  return ExitCode.OK;
}

export function runCopy(argv: readonly string[], env: Env, deps: TransferDeps, io: Io): Promise<number> {
  return withSession(
    argv,
    { from: { type: "string" }, to: { type: "string" }, "from-auth": { type: "string" }, overwrite: { type: "boolean" } },
    env,
    deps,
    io,
    COPY_HELP,
    async (args) => {
      if (args.positionals.length > 0) throw new UsageError(`copy: unexpected argument "${args.positionals[0]}"`);
      const from = stringOption(args, "from");
      if (from === undefined) throw new UsageError("copy: --from zk://HOST:PORT/PATH is required");
      let url;
      try {
        url = parseZkUrl(from);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const problem = pathProblem(url.path, false);
      if (problem !== undefined) throw new UsageError(`--from: path "${url.path}": ${problem}`);
      const fromAuth = stringOption(args, "from-auth");
      if (fromAuth !== undefined && fromAuth.indexOf(":") <= 0) throw new UsageError("--from-auth: expected USER:PASSWORD");
      return { url, dest: pathOption(args, "to", url.path), overwrite: booleanOption(args, "overwrite"), fromAuth };
    },
    async (client, { url, dest, overwrite, fromAuth }) => {
      const source = await ZkSource.connect(url, 10_000);
      let doc: ExportDoc;
      try {
        if (fromAuth !== undefined) await source.addAuth(fromAuth);
        doc = await exportTree(source, url.path, progressLine(io, "read"), (w) => io.err(`keeper: warning: ${w}`));
      } finally {
        await source.close();
      }
      io.err(`keeper: read ${doc.nodes.length} nodes from ZooKeeper at ${url.host}:${url.port}${url.path}`);
      return report(io, await importTree(client, doc, dest, overwrite, progressLine(io, "created")), dest);
    },
  );
}
