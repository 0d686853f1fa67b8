// What a command may do besides talking to the client: print, wait, and learn whether it runs
// once from the command line or inside the shell.
import { readAll } from "./data-input.ts";
import type { Io } from "./io.ts";

export interface CommandContext extends Io {
  /**
   * "oneshot": `keeper get /a` — the session ends when the command returns, so a command
   * that set a watch waits for its event. "shell": the session outlives the command, so a
   * watch event is printed whenever it fires.
   */
  mode: "oneshot" | "shell";
  /** Resolves after `ms` milliseconds (a fake in tests). */
  sleep(ms: number): Promise<void>;
  /** Resolves when the user asks to stop (Ctrl-C or SIGTERM); used by `create --hold`. */
  interrupted(): Promise<void>;
  /** All of standard input (at most `bytesMax`), for `set PATH -`; absent in the shell, whose input is the commands. */
  readStdin?(bytesMax: number): Promise<Uint8Array>;
}

/** A context that runs the real clock and process signals. */
export function processContext(io: Io, mode: CommandContext["mode"]): CommandContext {
  return {
    ...io,
    mode,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    ...(mode === "oneshot" ? { readStdin: (bytesMax: number) => readAll(process.stdin, bytesMax) } : {}),
    interrupted: () =>
      new Promise((resolve) => {
        // Kept registered after the first signal: a Ctrl-C may arrive twice (the terminal and
        // bin/keeper.mjs both deliver it) and the second must not kill the clean close.
        process.on("SIGINT", () => resolve());
        process.on("SIGTERM", () => resolve());
      }),
  };
}
