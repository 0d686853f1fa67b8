// The client commands. Each is a function of (client, parsed arguments, context) that prints
// through the context and returns an exit code; errors from the client are thrown and turned
// into exit codes by the caller (the one-shot runner or the shell).
import { CreateMode, Code, KeeperError, joinPath } from "@keeper/protocol";
import { booleanOption, parseArgv, parseInteger, stringOption, type OptionSpecs, type ParsedArgv } from "./args.ts";
import { aclArg, aclOption, outputArg, pathArg, timeoutArg, versionArg } from "./command-args.ts";
import type { CommandContext } from "./context.ts";
import { dataInput } from "./data-input.ts";
import { ExitCode, UsageError } from "./errors.ts";
import { formatAcl, formatData, formatEvent, formatStat } from "./format.ts";
import { aclJson, dataJson, eventJson, json, statJson } from "./json-output.ts";
import type { KeeperClient, WatchEvent, Watcher } from "./ports.ts";
import { TREE_COMMANDS, listRecursive } from "./tree-commands.ts";

export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  /** Arguments after the name, as shown in help: "PATH [-s] [-w]". */
  synopsis: string;
  summary: string;
  /** Option and note lines for `--help`. */
  details: readonly string[];
  options: OptionSpecs;
  positionals: readonly [min: number, max: number];
  /** Checks option values that parseArgs cannot (numbers, flag combinations), before connecting. */
  validate?(args: ParsedArgv): void;
  run(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number>;
}

const VERSION_OPTION = { version: { type: "string", short: "v" } } as const satisfies OptionSpecs;
const WATCH_OPTION = { watch: { type: "boolean", short: "w" } } as const satisfies OptionSpecs;
const STAT_OPTION = { stat: { type: "boolean", short: "s" } } as const satisfies OptionSpecs;
export const OUTPUT_OPTION = { output: { type: "string", short: "o" } } as const satisfies OptionSpecs;
export const OUTPUT_HELP = "-o, --output F  text (default) or json";
const FILE_OPTION = { file: { type: "string", short: "f" } } as const satisfies OptionSpecs;
const FILE_HELP = "-f, --file F     read the data from file F (`-` for standard input); DATA `-` does the same";

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "ls",
    synopsis: "PATH [-R] [-s] [-w] [-o json]",
    summary: "list the children of PATH, sorted, one per line",
    details: [
      "-R, --recursive  list every node below PATH, as full paths, parents first",
      "-s, --stat       also print PATH's stat",
      "-w, --watch      set a child watch and print its event (a one-shot command waits for it)",
      OUTPUT_HELP,
    ],
    options: { ...STAT_OPTION, ...WATCH_OPTION, ...OUTPUT_OPTION, recursive: { type: "boolean", short: "R" } },
    positionals: [1, 1],
    validate: (args) => {
      outputArg(args);
      if (booleanOption(args, "recursive") && (booleanOption(args, "watch") || booleanOption(args, "stat"))) throw new UsageError("ls: -R cannot be combined with -w or -s");
    },
    run: ls,
  },
  {
    name: "get",
    synopsis: "PATH [-s] [-w] [-o json]",
    summary: "print PATH's data: UTF-8 text, or 0x-prefixed hex when binary",
    details: ["-s, --stat   also print the stat", "-w, --watch  set a data watch and print its event (a one-shot command waits for it)", OUTPUT_HELP],
    options: { ...STAT_OPTION, ...WATCH_OPTION, ...OUTPUT_OPTION },
    positionals: [1, 1],
    validate: outputArg,
    run: get,
  },
  {
    name: "set",
    synopsis: "PATH [DATA | -f FILE] [-v VERSION] [-s]",
    summary: "replace PATH's data with DATA (UTF-8), or a file's bytes, or standard input's",
    details: ["-v, --version N  only if the data version is N (BADVERSION otherwise)", "-s, --stat       print the new stat", FILE_HELP],
    options: { ...VERSION_OPTION, ...STAT_OPTION, ...FILE_OPTION },
    positionals: [1, 2],
    validate: (args) => {
      versionArg(args);
      dataSource(args, true);
    },
    run: set,
  },
  {
    name: "create",
    synopsis: "PATH [DATA | -f FILE] [-e] [-s] [-c] [-t TTL_MS] [--acl ACL] [--hold]",
    summary: "create PATH (DATA defaults to empty); prints the path created",
    details: [
      "-e, --ephemeral     delete the node when the session ends",
      "-s, --sequential    append a 10-digit counter to the name",
      "-c, --container     a container node: removed by the server once its last child goes",
      "-t, --ttl-ms N      a persistent node removed after N ms without changes or children",
      "--hold              keep the session open until Ctrl-C (one-shot only)",
      "--acl ACL           the node's ACL as scheme:id:perms[,...] (default world:anyone:cdrwa)",
      "-f, --file F        read the data from file F (`-` for standard input)",
      "A one-shot `keeper create -e` ends its session when the command exits, so the",
      "ephemeral node vanishes at once; add --hold to keep it until Ctrl-C, or use the shell.",
    ],
    options: {
      ephemeral: { type: "boolean", short: "e" },
      sequential: { type: "boolean", short: "s" },
      container: { type: "boolean", short: "c" },
      "ttl-ms": { type: "string", short: "t" },
      hold: { type: "boolean" },
      acl: { type: "string" },
      ...FILE_OPTION,
    },
    positionals: [1, 2],
    validate: createArgs,
    run: create,
  },
  {
    name: "delete",
    aliases: ["rm"],
    synopsis: "PATH [-v VERSION]",
    summary: "delete PATH, which must have no children",
    details: ["-v, --version N  only if the data version is N (BADVERSION otherwise)"],
    options: { ...VERSION_OPTION },
    positionals: [1, 1],
    validate: versionArg,
    run: del,
  },
  {
    name: "deleteall",
    aliases: ["rmr"],
    synopsis: "PATH",
    summary: "delete PATH and everything below it",
    details: [],
    options: {},
    positionals: [1, 1],
    run: deleteAll,
  },
  {
    name: "stat",
    synopsis: "PATH [-w] [-o json]",
    summary: "print PATH's stat, ZooKeeper style",
    details: ["-w, --watch  set an exists watch and print its event (a one-shot command waits for it)", OUTPUT_HELP],
    options: { ...WATCH_OPTION, ...OUTPUT_OPTION },
    positionals: [1, 1],
    validate: outputArg,
    run: stat,
  },
  {
    name: "watch",
    synopsis: "PATH [--children] [--follow [-R]] [--timeout SECONDS] [-o json]",
    summary: "wait for the next change to PATH and print it, or follow every change",
    details: [
      "--children         watch PATH's children instead of its data and existence",
      "--follow           a persistent watch: print every event on PATH until Ctrl-C",
      "-R, --recursive    with --follow: every creation, change and deletion below PATH too",
      "--timeout SECONDS  give up after SECONDS: exit 1 without an event; with --follow, stop and exit 0",
      OUTPUT_HELP + " (one JSON object per event and line)",
      "Prints one line such as `NodeDataChanged /a` and exits 0.",
      "In the shell the command returns at once and events are printed when they fire.",
    ],
    options: { children: { type: "boolean" }, timeout: { type: "string" }, follow: { type: "boolean" }, recursive: { type: "boolean", short: "R" }, ...OUTPUT_OPTION },
    positionals: [1, 1],
    validate: (args) => {
      timeoutArg(args);
      outputArg(args);
      if (booleanOption(args, "recursive") && !booleanOption(args, "follow")) throw new UsageError("watch: -R needs --follow");
      if (booleanOption(args, "children") && booleanOption(args, "follow")) throw new UsageError("watch: --follow sees child events already; drop --children");
    },
    run: watch,
  },
  {
    name: "sync",
    synopsis: "PATH",
    summary: "bring the connected node up to date with every committed write",
    details: [],
    options: {},
    positionals: [1, 1],
    run: async (client, args) => {
      await client.sync(pathArg(args, 0));
      return ExitCode.OK;
    },
  },
  {
    name: "getAcl",
    synopsis: "PATH",
    summary: "print PATH's ACL, one scheme:id:perms per line (perms: cdrwa)",
    details: [OUTPUT_HELP],
    options: { ...OUTPUT_OPTION },
    positionals: [1, 1],
    validate: outputArg,
    run: async (client, args, ctx) => {
      const { acl } = await client.getACL(pathArg(args, 0));
      if (outputArg(args) === "json") ctx.out(json(aclJson(acl)));
      else for (const entry of acl) ctx.out(formatAcl(entry));
      return ExitCode.OK;
    },
  },
  {
    name: "setAcl",
    synopsis: "PATH ACL [-v VERSION]",
    summary: "replace PATH's ACL with scheme:id:perms[,...]",
    details: ["-v, --version N  only if the ACL version is N (BADVERSION otherwise)", "Example: setAcl /a world:anyone:cdrwa,ip:10.0.0.1:r"],
    options: { ...VERSION_OPTION },
    positionals: [2, 2],
    validate: (args) => {
      aclArg(args);
      versionArg(args);
    },
    run: async (client, args) => {
      await client.setACL(pathArg(args, 0), aclArg(args), versionArg(args));
      return ExitCode.OK;
    },
  },
  ...TREE_COMMANDS,
];

/** Finds a command by name or alias, ignoring case (so `getacl` works as well as `getAcl`). */
export function findCommand(name: string): CommandSpec | undefined {
  const wanted = name.toLowerCase();
  return COMMANDS.find((c) => c.name.toLowerCase() === wanted || (c.aliases ?? []).includes(wanted));
}

/** Parses a command's arguments; `extra` adds options (the one-shot runner's --connect). */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[], extra: OptionSpecs = {}): ParsedArgv {
  const args = parseArgv(argv, { help: { type: "boolean", short: "h" }, ...spec.options, ...extra }, true);
  if (args.values.help === true) return args;
  const [min, max] = spec.positionals;
  const n = args.positionals.length;
  if (n < min || n > max) {
    const expected = spec.synopsis.split(" [-")[0];
    throw new UsageError(`${spec.name}: expected ${expected}${n > max ? `, got extra argument "${args.positionals[max]}"` : ""} (see ${spec.name} --help)`);
  }
  // Every command's first argument, when it takes one, is a path; a sequential create may end in "/".
  if (n > 0) pathArg(args, 0, booleanOption(args, "sequential"));
  spec.validate?.(args);
  return args;
}

/** `usage: <prefix>ls PATH ...` followed by the summary and the option lines. */
export function commandHelp(spec: CommandSpec, prefix: string): string {
  const aliases = spec.aliases?.length ? ` (alias: ${spec.aliases.join(", ")})` : "";
  return [`usage: ${prefix}${spec.name} ${spec.synopsis}`, "", `${spec.summary}${aliases}`, ...(spec.details.length ? ["", ...spec.details.map((d) => "  " + d)] : [])].join("\n");
}

/**
 * A watcher plus a way to finish with it. In the shell the event is printed whenever it
 * fires and `wait` returns at once; in a one-shot command `wait` blocks until the event
 * (printing it, exit 0) or the timeout (exit 1).
 */
function watchFor(ctx: CommandContext, path: string, timeoutMs?: number, asJson = false): { watcher: Watcher; wait(): Promise<number> } {
  const print = (event: WatchEvent) => ctx.out(asJson ? json(eventJson(event)) : formatEvent(event));
  if (ctx.mode === "shell") return { watcher: print, wait: async () => ExitCode.OK };
  let fire: (event: WatchEvent) => void = () => {};
  const fired = new Promise<WatchEvent>((resolve) => (fire = resolve));
  return {
    watcher: (event) => fire(event),
    wait: async () => {
      const outcome = await (timeoutMs === undefined ? fired : Promise.race([fired, ctx.sleep(timeoutMs).then(() => undefined)]));
      if (outcome === undefined) {
        ctx.err(`keeper: no event for ${path} within ${timeoutMs! / 1000} s`);
        return ExitCode.FAILED;
      }
      print(outcome);
      return ExitCode.OK;
    },
  };
}

/**
 * `watch --follow`: a persistent (with -R, recursive) watch whose events print as they come.
 * One-shot, it runs until Ctrl-C or --timeout, then exits 0; in the shell it returns at once.
 */
async function follow(client: KeeperClient, path: string, recursive: boolean, timeoutMs: number | undefined, asJson: boolean, ctx: CommandContext): Promise<number> {
  await client.addWatch(path, (event) => ctx.out(asJson ? json(eventJson(event)) : formatEvent(event)), { recursive });
  if (ctx.mode === "shell") return ExitCode.OK;
  ctx.err(`keeper: following ${recursive ? "everything under " : ""}${path}; Ctrl-C to stop`);
  await (timeoutMs === undefined ? ctx.interrupted() : Promise.race([ctx.interrupted(), ctx.sleep(timeoutMs)]));
  return ExitCode.OK;
}

async function ls(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const path = pathArg(args, 0);
  const asJson = outputArg(args) === "json";
  if (booleanOption(args, "recursive")) return listRecursive(client, path, asJson, ctx);
  const watch = booleanOption(args, "watch") ? watchFor(ctx, path, undefined, asJson) : undefined;
  const { children, stat } = await client.getChildren(path, watch ? { watch: watch.watcher } : {});
  const sorted = [...children].sort();
  if (asJson) ctx.out(json({ path, children: sorted, stat: statJson(stat) }));
  else {
    for (const child of sorted) ctx.out(child);
    if (booleanOption(args, "stat")) formatStat(stat).forEach((line) => ctx.out(line));
  }
  return watch ? watch.wait() : ExitCode.OK;
}

async function get(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const path = pathArg(args, 0);
  const asJson = outputArg(args) === "json";
  const watch = booleanOption(args, "watch") ? watchFor(ctx, path, undefined, asJson) : undefined;
  const { data, stat } = await client.getData(path, watch ? { watch: watch.watcher } : {});
  if (asJson) ctx.out(json({ path, ...dataJson(data), stat: statJson(stat) }));
  else {
    ctx.out(formatData(data));
    if (booleanOption(args, "stat")) formatStat(stat).forEach((line) => ctx.out(line));
  }
  return watch ? watch.wait() : ExitCode.OK;
}

async function set(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const stat = await client.setData(pathArg(args, 0), await dataInput(dataSource(args, true), ctx), versionArg(args));
  if (booleanOption(args, "stat")) formatStat(stat).forEach((line) => ctx.out(line));
  return ExitCode.OK;
}

/** Maps create's flags to a CreateMode; combinations ZooKeeper has no mode for are usage errors. */
export function createModeOf(flags: { ephemeral: boolean; sequential: boolean; container: boolean; ttl: boolean }): CreateMode {
  const { ephemeral, sequential, container, ttl } = flags;
  if (container && (ephemeral || sequential || ttl)) throw new UsageError("create: -c (container) cannot be combined with -e, -s or -t");
  if (ttl && ephemeral) throw new UsageError("create: -t (TTL) applies to persistent nodes only, not with -e");
  if (container) return CreateMode.CONTAINER;
  if (ttl) return sequential ? CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL : CreateMode.PERSISTENT_WITH_TTL;
  if (ephemeral) return sequential ? CreateMode.EPHEMERAL_SEQUENTIAL : CreateMode.EPHEMERAL;
  return sequential ? CreateMode.PERSISTENT_SEQUENTIAL : CreateMode.PERSISTENT;
}

/** Where the data comes from: DATA, `-f FILE`, or `-` (either way) for standard input. */
function dataSource(args: ParsedArgv, required: boolean): { text: string } | { file: string } {
  const positional = args.positionals[1];
  const file = stringOption(args, "file");
  if (positional !== undefined && file !== undefined) throw new UsageError(`${args.positionals[0]}: give DATA or --file, not both`);
  if (file !== undefined) return { file };
  if (positional === "-") return { file: "-" };
  if (positional === undefined && required) throw new UsageError("set: expected PATH DATA, PATH -f FILE or PATH - (standard input)");
  return { text: positional ?? "" };
}

function createArgs(args: ParsedArgv): { mode: CreateMode; ttlMs: number | undefined } {
  aclOption(args);
  dataSource(args, false);
  const ttlRaw = stringOption(args, "ttl-ms");
  const ttlMs = ttlRaw === undefined ? undefined : parseInteger(ttlRaw, "--ttl-ms");
  if (ttlMs !== undefined && ttlMs <= 0) throw new UsageError("--ttl-ms: must be positive");
  const flags = { ephemeral: booleanOption(args, "ephemeral"), sequential: booleanOption(args, "sequential"), container: booleanOption(args, "container"), ttl: ttlMs !== undefined };
  return { mode: createModeOf(flags), ttlMs };
}

async function create(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const { mode, ttlMs } = createArgs(args);
  const ephemeral = booleanOption(args, "ephemeral");
  const sequential = booleanOption(args, "sequential");
  const path = pathArg(args, 0, sequential);
  const data = await dataInput(dataSource(args, false), ctx);
  const acl = aclOption(args);
  const created = await client.create(path, data, { mode, ...(ttlMs === undefined ? {} : { ttlMs }), ...(acl === undefined ? {} : { acl }) });
  ctx.out(created);
  if (ctx.mode === "oneshot" && booleanOption(args, "hold")) {
    ctx.err(`keeper: holding the session; Ctrl-C to end it${ephemeral ? ` and delete ${created}` : ""}`);
    await ctx.interrupted();
  } else if (ctx.mode === "oneshot" && ephemeral) {
    ctx.err(`keeper: note: ${created} is ephemeral and is deleted as this command exits (use --hold or the shell to keep it)`);
  }
  return ExitCode.OK;
}

async function del(client: KeeperClient, args: ParsedArgv): Promise<number> {
  await client.delete(pathArg(args, 0), versionArg(args));
  return ExitCode.OK;
}

async function deleteAll(client: KeeperClient, args: ParsedArgv): Promise<number> {
  const path = pathArg(args, 0);
  if (path === "/") throw new UsageError("deleteall: refusing to delete /");
  await deleteTree(client, path, true);
  return ExitCode.OK;
}

/** Deletes children before parents. Nodes that vanish meanwhile are fine, except the top one. */
export async function deleteTree(client: KeeperClient, path: string, top: boolean): Promise<void> {
  try {
    const { children } = await client.getChildren(path);
    for (const child of children) await deleteTree(client, joinPath(path, child), false);
    await client.delete(path, -1);
  } catch (err) {
    if (!top && err instanceof KeeperError && err.code === Code.NONODE) return;
    throw err;
  }
}

async function stat(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const path = pathArg(args, 0);
  const asJson = outputArg(args) === "json";
  const watch = booleanOption(args, "watch") ? watchFor(ctx, path, undefined, asJson) : undefined;
  const result = await client.exists(path, watch ? { watch: watch.watcher } : {});
  if (result === null) throw new KeeperError(Code.NONODE, undefined, path);
  if (asJson) ctx.out(json({ path, stat: statJson(result) }));
  else formatStat(result).forEach((line) => ctx.out(line));
  return watch ? watch.wait() : ExitCode.OK;
}

async function watch(client: KeeperClient, args: ParsedArgv, ctx: CommandContext): Promise<number> {
  const path = pathArg(args, 0);
  const asJson = outputArg(args) === "json";
  if (booleanOption(args, "follow")) return follow(client, path, booleanOption(args, "recursive"), timeoutArg(args), asJson, ctx);
  const w = watchFor(ctx, path, timeoutArg(args), asJson);
  if (booleanOption(args, "children")) await client.getChildren(path, { watch: w.watcher });
  else await client.exists(path, { watch: w.watcher });
  return w.wait();
}

