// `keeper shell`: the commands without the `keeper` prefix, one per line, on one session.
// Works the same on a terminal and on piped input (lines run one after another, in order).
import { clearLine, createInterface, cursorTo } from "node:readline";
import { tokenize } from "./args.ts";
import { COMMANDS, commandHelp, findCommand, parseCommandArgs } from "./commands.ts";
import type { CommandContext } from "./context.ts";
import { reportError } from "./errors.ts";
import type { Io } from "./io.ts";
import type { KeeperClient } from "./ports.ts";

export interface ShellOptions {
  input: NodeJS.ReadableStream;
  /** Where the prompt goes; only used on a terminal. */
  output?: NodeJS.WritableStream;
  /** True on a TTY: show prompts, line editing and history. */
  terminal: boolean;
  prompt: string;
  io: Io;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs until quit, exit, Ctrl-D or the end of the input; returns the exit code (0). */
export async function runShell(client: KeeperClient, options: ShellOptions): Promise<number> {
  const { input, output, terminal, prompt, io } = options;
  const rl = createInterface({ input, output: terminal ? output : undefined, terminal, prompt, historySize: 1000 });
  // Ctrl-C leaves the shell, as in zkCli (on a terminal readline turns it into this event).
  rl.on("SIGINT", () => rl.close());

  // An event that fires while the prompt is waiting for input is printed above the prompt.
  let idle = false;
  const asyncSafe = (write: (line: string) => void) => (line: string) => {
    if (!(terminal && idle && output)) return write(line);
    clearLine(output, 0);
    cursorTo(output, 0);
    write(line);
    rl.prompt(true);
  };
  const ctx: CommandContext = {
    out: asyncSafe(io.out),
    err: asyncSafe(io.err),
    mode: "shell",
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    interrupted: () => Promise.resolve(),
  };
  let ending = false;
  client.on("state", (state) => {
    if (!ending) ctx.err(`[session ${state}]`);
  });

  const showPrompt = () => {
    if (!terminal) return;
    idle = true;
    rl.prompt();
  };
  showPrompt();
  for await (const line of rl) {
    idle = false;
    if ((await executeLine(client, line, ctx)) === "quit") break;
    showPrompt();
  }
  ending = true;
  rl.close();
  return 0;
}

/** Runs one shell line; errors are printed and the shell goes on. */
export async function executeLine(client: KeeperClient, line: string, ctx: CommandContext): Promise<"quit" | "continue"> {
  let words: string[];
  try {
    words = tokenize(line);
  } catch (err) {
    reportError(ctx, err);
    return "continue";
  }
  const [name, ...rest] = words;
  if (name === undefined || name.startsWith("#")) return "continue";
  if (name === "quit" || name === "exit") return "quit";
  if (name === "help" || name === "?") {
    printHelp(ctx, rest[0]);
    return "continue";
  }
  const spec = findCommand(name);
  if (spec === undefined) {
    ctx.err(`keeper: unknown command "${name}" (type help for the list)`);
    return "continue";
  }
  try {
    const args = parseCommandArgs(spec, rest);
    if (args.values.help === true) ctx.out(commandHelp(spec, ""));
    else await spec.run(client, args, ctx);
  } catch (err) {
    reportError(ctx, err);
  }
  return "continue";
}

function printHelp(io: Io, topic: string | undefined): void {
  const spec = topic === undefined ? undefined : findCommand(topic);
  if (spec !== undefined) return io.out(commandHelp(spec, ""));
  if (topic !== undefined) io.err(`keeper: unknown command "${topic}"`);
  const rows = COMMANDS.map((c) => [`${c.name} ${c.synopsis}`, c.summary] as const);
  rows.push(["help [COMMAND]", "list the commands, or show one command's options"], ["quit, exit", "leave the shell (also Ctrl-D)"]);
  const width = Math.max(...rows.map(([s]) => s.length));
  io.out(rows.map(([s, summary]) => `  ${s.padEnd(width)}  ${summary}`).join("\n"));
}
