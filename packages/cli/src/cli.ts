// `keeper ARGS`: picks the command and returns its exit code. main.ts supplies the process.
import { COMMANDS, findCommand } from "./commands.ts";
import { CONNECT_HELP, CONNECT_OPTIONS, closeQuietly, connectSettings, openClient } from "./connection.ts";
import type { CommandContext } from "./context.ts";
import { parseArgv } from "./args.ts";
import { processEnsembleDeps, runEnsemble, type EnsembleDeps } from "./ensemble.ts";
import { ensembleHelp } from "./ensemble-plan.ts";
import { ExitCode, UsageError, reportError } from "./errors.ts";
import type { Io } from "./io.ts";
import { oneShotHelp, runOneShot } from "./oneshot.ts";
import type { Connect } from "./ports.ts";
import { runServer, type ServerDeps } from "./server.ts";
import { serverHelp, type Env } from "./server-options.ts";
import { runShell } from "./shell.ts";
import { runStatus, statusHelp, type FetchJson } from "./status.ts";
import { completionScript, type CompletionEntry } from "./completion.ts";
import { membersHelp, runMembers } from "./members.ts";
import { backupHelp, restoreHelp, runBackup, runRestore } from "./backup.ts";
import { COPY_HELP, EXPORT_HELP, IMPORT_HELP, runCopy, runExport, runImport } from "./transfer-commands.ts";
import { serverOptionSpecs } from "./server-options.ts";
import { keeperVersion } from "./version.ts";

export interface CliDeps {
  env: Env;
  /** The context for one-shot commands (real clock and signals in production). */
  context: CommandContext;
  loadConnect(): Promise<Connect>;
  server: ServerDeps;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  /** Signals, working directory and child environment for `keeper ensemble` (default: this process). */
  ensemble?: EnsembleDeps;
  /** How `keeper status` fetches /status (default: an HTTP GET with node:http). */
  fetchJson?: FetchJson;
}

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const io: Io = deps.context;
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(usage());
    return ExitCode.USAGE;
  }
  if (command === "--help" || command === "-h" || command === "help") return help(io, rest[0]);
  if (command === "server") return runServer(rest, deps.env, deps.server, io);
  if (command === "shell") return shell(rest, deps);
  if (command === "ensemble") return runEnsemble(rest, deps.ensemble ?? processEnsembleDeps(), io);
  if (command === "status") return runStatus(rest, deps.env, io, deps.fetchJson);
  if (command === "members") return runMembers(rest, deps.env, io, deps.fetchJson);
  if (command === "backup") return runBackup(rest, deps.env, io);
  if (command === "restore") return runRestore(rest, deps.env, io);
  if (command === "export") return runExport(rest, deps.env, deps, io);
  if (command === "import") return runImport(rest, deps.env, deps, io);
  if (command === "copy") return runCopy(rest, deps.env, deps, io);
  if (command === "--version" || command === "version") {
    io.out(`keeper ${keeperVersion()}`);
    return ExitCode.OK;
  }
  if (command === "completion") return completion(io, rest);
  const spec = findCommand(command);
  if (spec !== undefined) return runOneShot(spec, rest, deps.env, deps, deps.context);
  io.err(`keeper: unknown command "${command}"\n\n${usage()}`);
  return ExitCode.USAGE;
}

/** `keeper help [COMMAND]`, `keeper --help`: the overview, or one command's page. */
function help(io: Io, topic: string | undefined): number {
  if (topic === undefined) {
    io.out(usage());
    return ExitCode.OK;
  }
  const spec = findCommand(topic);
  const pages: Record<string, () => string> = { server: serverHelp, shell: () => SHELL_HELP, ensemble: ensembleHelp, status: statusHelp, members: membersHelp, backup: backupHelp, restore: restoreHelp, export: () => EXPORT_HELP, import: () => IMPORT_HELP, copy: () => COPY_HELP, completion: () => COMPLETION_HELP };
  const page = Object.hasOwn(pages, topic) ? pages[topic]!() : spec && oneShotHelp(spec);
  if (page === undefined) {
    io.err(`keeper: unknown command "${topic}"\n\n${usage()}`);
    return ExitCode.USAGE;
  }
  io.out(page);
  return ExitCode.OK;
}

export function usage(): string {
  const rows: Array<readonly [string, string]> = [
    ["server [options]", "run one Keeper node (keeper server --help for its settings)"],
    ["ensemble [--nodes N]", "run a local ensemble of N nodes (default 3) until Ctrl-C"],
    ["status [--json]", "one row per node of --connect: state, leader, epoch, zxid, peers, pid"],
    ["members [-o json]", "the ensemble's members: id, peer address, state, leader"],
    ["backup FILE", "save a consistent, checksummed snapshot of a live member to FILE"],
    ["restore FILE --data-dir DIR", "seed a node's store from a backup (--server-id N)"],
    ["export PATH [-f FILE]", "a subtree with data, ACLs and modes, as JSON"],
    ["import FILE [--to PATH]", "create the nodes of an export"],
    ["copy --from zk://HOST:PORT/PATH", "copy a subtree from a running Apache ZooKeeper"],
    ["shell [--connect HOSTS]", "interactive shell with the commands below, on one session"],
    ...COMMANDS.map((c) => [`${c.name} ${c.synopsis}`, c.summary] as const),
  ];
  const width = Math.max(...rows.map(([s]) => s.length));
  return [
    "usage: keeper <command> [options]",
    "",
    "Commands:",
    ...rows.map(([s, summary]) => `  ${s.padEnd(width)}  ${summary}`),
    "",
    "Every command but server, ensemble and status takes:",
    ...CONNECT_HELP.map((l) => "  " + l),
    "",
    "keeper <command> --help shows a command's options; keeper --version the version;",
    "keeper completion bash|zsh prints a completion script.",
    "Exit codes: 0 success, 1 the service returned an error (e.g. NONODE) or a watch timed out,",
    "2 usage or configuration error, 3 no connection within the timeout or session lost.",
    "keeper status exits 0 if some node answered and is serving, else 1.",
  ].join("\n");
}

const SHELL_HELP = [
  "usage: keeper shell [--connect HOSTS] [--timeout-ms N] [-r]",
  "",
  "Reads commands (ls, tree, get, set, create, delete, deleteall, stat, watch, sync, getAcl,",
  "setAcl, whoami, help, quit) one per line and runs them on one session. Errors are printed and the",
  "shell goes on. Watch events print when they fire. Ctrl-D, quit or exit leaves.",
  "Input may be piped: `printf 'create /a x\\nget /a\\n' | keeper shell` runs the lines in order.",
  "",
  ...CONNECT_HELP.map((l) => "  " + l),
].join("\n");

const COMPLETION_HELP = [
  "usage: keeper completion bash|zsh",
  "",
  "Prints a completion script for commands and their flags:",
  "  bash: source <(keeper completion bash)   or save it in /etc/bash_completion.d/keeper",
  "  zsh:  keeper completion zsh > \"${fpath[1]}/_keeper\"   then compinit",
].join("\n");

/** Every command and its flags, for completion scripts. */
function completionEntries(): CompletionEntry[] {
  const statusLike = { connect: { type: "string" }, "timeout-ms": { type: "string" } } as const;
  return [
    { name: "server", options: serverOptionSpecs() },
    { name: "ensemble", options: { nodes: { type: "string" }, "data-dir": { type: "string" } } },
    { name: "status", options: { ...statusLike, json: { type: "boolean" } } },
    { name: "members", options: { ...statusLike, output: { type: "string", short: "o" } } },
    { name: "shell", options: { ...CONNECT_OPTIONS } },
    { name: "backup", options: { ...statusLike, auth: { type: "string" }, output: { type: "string", short: "o" } } },
    { name: "restore", options: { "data-dir": { type: "string" }, "server-id": { type: "string" }, output: { type: "string", short: "o" } } },
    { name: "completion", options: {} },
    { name: "export", options: { ...CONNECT_OPTIONS, file: { type: "string", short: "f" } } },
    { name: "import", options: { ...CONNECT_OPTIONS, to: { type: "string" }, overwrite: { type: "boolean" } } },
    { name: "copy", options: { ...CONNECT_OPTIONS, from: { type: "string" }, to: { type: "string" }, "from-auth": { type: "string" }, overwrite: { type: "boolean" } } },
    ...COMMANDS.map((c) => ({ name: c.name, options: { ...c.options, ...CONNECT_OPTIONS } })),
  ];
}

function completion(io: Io, argv: readonly string[]): number {
  try {
    if (argv.length > 1) throw new UsageError(`completion: unexpected argument "${argv[1]}"`);
    if (argv[0] === "--help" || argv[0] === "-h") {
      io.out(COMPLETION_HELP);
      return ExitCode.OK;
    }
    io.out(completionScript(argv[0], completionEntries()));
    return ExitCode.OK;
  } catch (err) {
    return reportError(io, err);
  }
}

async function shell(argv: readonly string[], deps: CliDeps): Promise<number> {
  const io: Io = deps.context;
  let settings;
  try {
    const args = parseArgv(argv, { help: { type: "boolean", short: "h" }, ...CONNECT_OPTIONS }, false);
    if (args.values.help === true) {
      io.out(SHELL_HELP);
      return ExitCode.OK;
    }
    settings = connectSettings(args, deps.env);
  } catch (err) {
    return reportError(io, err);
  }
  let client;
  try {
    client = await openClient(await deps.loadConnect(), settings);
  } catch (err) {
    return reportError(io, err);
  }
  const terminal = deps.stdin.isTTY === true;
  if (terminal) io.err(`Connected to ${settings.hosts}. Type help for the commands, Ctrl-D to leave.`);
  try {
    return await runShell(client, { input: deps.stdin, output: deps.stdout, terminal, prompt: `keeper ${settings.hosts}> `, io, sleep: deps.context.sleep });
  } finally {
    await closeQuietly(client);
  }
}
