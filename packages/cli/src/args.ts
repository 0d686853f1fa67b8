// Small, strict parsers shared by the server options, the commands and the shell.
import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

/** Parses a decimal integer, all of it: "12x", "1.5", "" and "1e3" are errors naming `source`. */
export function parseInteger(text: string, source: string): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) throw new UsageError(`${source}: expected an integer, got "${text}"`);
  const n = Number(trimmed);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${source}: ${text} is out of range`);
  return n;
}

/** "minSessionTimeoutMs" -> "min-session-timeout-ms". */
export function kebabCase(field: string): string {
  return field.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/** "minSessionTimeoutMs" -> "KEEPER_MIN_SESSION_TIMEOUT_MS". */
export function envName(field: string): string {
  return "KEEPER_" + kebabCase(field).replace(/-/g, "_").toUpperCase();
}

/**
 * Splits a shell line into words. Single quotes take everything literally; double quotes
 * and bare words honour backslash escapes (\n, \t, \\, \", \' and "\ "). Throws on an
 * unterminated quote.
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (c === "\\" && i + 1 < line.length) {
      word += unescape(line[++i]!);
      inWord = true;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new UsageError(`unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

function unescape(c: string): string {
  switch (c) {
    case "n":
      return "\n";
    case "t":
      return "\t";
    case "r":
      return "\r";
    default:
      return c;
  }
}

export type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: false };
export type OptionSpecs = Record<string, OptionSpec>;
export interface ParsedArgv {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** node:util parseArgs in strict mode, with its errors turned into short UsageErrors. */
export function parseArgv(argv: readonly string[], options: OptionSpecs, allowPositionals: boolean): ParsedArgv {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals, strict: true });
    return { values: values as ParsedArgv["values"], positionals };
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
}

function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof Error && "code" in err ? err.code : undefined;
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown) return `unknown option ${unknown[1]}`;
  const positional = /Unexpected argument '([^']+)'/.exec(message);
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && positional) return `unexpected argument "${positional[1]}"`;
  // "Option '--x <value>' argument missing" and similar are already short enough.
  return message.split(". ")[0]!;
}

/** A string option's value, or undefined when absent. */
export function stringOption(args: ParsedArgv, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

export function booleanOption(args: ParsedArgv, name: string): boolean {
  return args.values[name] === true;
}
