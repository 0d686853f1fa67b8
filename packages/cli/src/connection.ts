// Opening a session for one-shot commands and the shell: --connect, --timeout-ms, --read-only.
import { booleanOption, parseInteger, stringOption, type OptionSpecs, type ParsedArgv } from "./args.ts";
import { Code } from "@keeper/protocol";
import { ConnectionError, UsageError, keeperCodeOf } from "./errors.ts";
import type { Connect, KeeperClient } from "./ports.ts";
import type { Env } from "./server-options.ts";

export const DEFAULT_CONNECT = "127.0.0.1:8181";
export const DEFAULT_TIMEOUT_MS = 10_000;

export const CONNECT_OPTIONS = {
  connect: { type: "string" },
  "timeout-ms": { type: "string" },
  "read-only": { type: "boolean", short: "r" },
  auth: { type: "string" },
} as const satisfies OptionSpecs;

export const CONNECT_HELP: readonly string[] = [
  `--connect HOSTS   host:port[,host:port...][/chroot]; default $KEEPER_CONNECT, else ${DEFAULT_CONNECT}`,
  `--timeout-ms N    session timeout, also the time allowed to connect (default ${DEFAULT_TIMEOUT_MS})`,
  "-r, --read-only   accept a read-only node (one that lost its quorum)",
  "--auth USER:PW    authenticate the session as USER (digest scheme); default $KEEPER_AUTH",
  "                  (the variable keeps the password out of the process list)",
];

export interface ConnectSettings {
  hosts: string;
  timeoutMs: number;
  canBeReadOnly: boolean;
  /** digest credentials, "user:password". */
  auth?: string;
}

export function connectSettings(args: ParsedArgv, env: Env): ConnectSettings {
  const hosts = stringOption(args, "connect") ?? (env.KEEPER_CONNECT || DEFAULT_CONNECT);
  if (hosts.trim() === "") throw new UsageError("--connect: expected host:port[,host:port...]");
  const rawTimeout = stringOption(args, "timeout-ms");
  const timeoutMs = rawTimeout === undefined ? DEFAULT_TIMEOUT_MS : parseInteger(rawTimeout, "--timeout-ms");
  if (timeoutMs <= 0) throw new UsageError("--timeout-ms: must be positive");
  const auth = stringOption(args, "auth") ?? (env.KEEPER_AUTH || undefined);
  if (auth !== undefined && auth.indexOf(":") <= 0) throw new UsageError("--auth: expected USER:PASSWORD");
  return { hosts, timeoutMs, canBeReadOnly: booleanOption(args, "read-only"), ...(auth === undefined ? {} : { auth }) };
}

/**
 * Connects, or throws ConnectionError once `timeoutMs` has passed without a session. The
 * client is given the same deadline; the timer here only guards against one that overruns
 * it, and a client that connects after all is closed again.
 */
export async function openClient(connect: Connect, settings: ConnectSettings): Promise<KeeperClient> {
  const { hosts, timeoutMs, canBeReadOnly } = settings;
  const attempt = connect(hosts, { sessionTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs, canBeReadOnly });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs + 1_000);
  });
  try {
    const outcome = await Promise.race([attempt, deadline]);
    if (outcome === "timeout") {
      attempt.then((late) => late.close()).catch(() => {});
      throw new ConnectionError(`cannot connect to ${hosts} within ${timeoutMs} ms`);
    }
    if (settings.auth !== undefined) {
      try {
        await outcome.addAuth("digest", settings.auth);
      } catch (err) {
        await closeQuietly(outcome);
        throw new UsageError(`--auth: the server refused the credentials (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    return outcome;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof ConnectionError) throw err;
    // A connect string the client cannot parse is the caller's mistake, not the network's.
    if (keeperCodeOf(err) === Code.BADARGUMENTS) throw new UsageError(`--connect ${hosts}: ${err instanceof Error ? err.message : String(err)}`);
    throw new ConnectionError(`cannot connect to ${hosts}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the session, giving up after `ms` so a dead connection cannot hang the exit. */
export async function closeQuietly(client: KeeperClient, ms = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.close().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
