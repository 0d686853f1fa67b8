// Argument readers shared by the client commands: each checks one positional or option and
// throws a UsageError naming it.
import { pathProblem, type Acl } from "@keeper/protocol";
import { parseInteger, stringOption, type ParsedArgv } from "./args.ts";
import { UsageError } from "./errors.ts";
import { parseAcl } from "./format.ts";

export function pathArg(args: ParsedArgv, index: number, sequential = false): string {
  // Only commands whose path is optional (tree) get here without one.
  const path = args.positionals[index] ?? "/";
  const problem = pathProblem(path, sequential);
  if (problem !== undefined) throw new UsageError(`invalid path "${path}": ${problem}`);
  return path;
}

export function aclArg(args: ParsedArgv): Acl[] {
  const acl = parseAcl(args.positionals[1]!);
  if (typeof acl === "string") throw new UsageError(acl);
  return acl;
}

export function versionArg(args: ParsedArgv): number {
  const raw = stringOption(args, "version");
  return raw === undefined ? -1 : parseInteger(raw, "--version");
}

export function timeoutArg(args: ParsedArgv): number | undefined {
  const text = stringOption(args, "timeout");
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text.trim())) throw new UsageError(`--timeout: expected a number of seconds, got "${text}"`);
  return Math.round(Number(text) * 1000);
}

/** create --acl: the same `scheme:id:perms[,...]` syntax as setAcl; absent means open to all. */
export function aclOption(args: ParsedArgv): Acl[] | undefined {
  const text = stringOption(args, "acl");
  if (text === undefined) return undefined;
  const acl = parseAcl(text);
  if (typeof acl === "string") throw new UsageError(`--acl: ${acl}`);
  return acl;
}

export type OutputFormat = "text" | "json";

/** -o, --output text|json. */
export function outputArg(args: ParsedArgv): OutputFormat {
  const text = stringOption(args, "output") ?? "text";
  if (text !== "text" && text !== "json") throw new UsageError(`--output: expected text or json, got "${text}"`);
  return text;
}
