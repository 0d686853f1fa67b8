// `keeper <command> ...`: open a session, run one command, close the session.
import { parseCommandArgs, commandHelp, type CommandSpec } from "./commands.ts";
import { CONNECT_HELP, CONNECT_OPTIONS, closeQuietly, connectSettings, openClient } from "./connection.ts";
import type { CommandContext } from "./context.ts";
import { ConnectionError, ExitCode, reportError } from "./errors.ts";
import type { Connect } from "./ports.ts";
import type { Env } from "./server-options.ts";

export interface OneShotDeps {
  /** Loaded lazily so that usage errors and --help need no client code. */
  loadConnect(): Promise<Connect>;
}

export function oneShotHelp(spec: CommandSpec): string {
  return [commandHelp(spec, "keeper "), "", "Connection:", ...CONNECT_HELP.map((l) => "  " + l)].join("\n");
}

export async function runOneShot(spec: CommandSpec, argv: readonly string[], env: Env, deps: OneShotDeps, ctx: CommandContext): Promise<number> {
  let args;
  let settings;
  try {
    args = parseCommandArgs(spec, argv, CONNECT_OPTIONS);
    if (args.values.help === true) {
      ctx.out(oneShotHelp(spec));
      return ExitCode.OK;
    }
    settings = connectSettings(args, env);
  } catch (err) {
    return reportError(ctx, err);
  }

  let client;
  try {
    client = await openClient(await deps.loadConnect(), settings);
  } catch (err) {
    return reportError(ctx, err);
  }

  // A session that expires while the command waits (for a watch, or --hold) would leave it
  // waiting forever; end it with the connection-failure code instead.
  const expired = new Promise<never>((_, reject) => {
    client.on("state", (state) => {
      if (state === "expired") reject(new ConnectionError("session expired"));
    });
  });
  try {
    return await Promise.race([spec.run(client, args, ctx), expired]);
  } catch (err) {
    return reportError(ctx, err);
  } finally {
    await closeQuietly(client);
  }
}
