// Captured output and a context for running commands in tests.
import type { CommandContext } from "../src/context.ts";

export interface Captured extends CommandContext {
  stdout: string[];
  stderr: string[];
  /** Everything written, in order, stderr lines marked with "! ". */
  transcript: string[];
}

export function capture(mode: CommandContext["mode"] = "oneshot", overrides: Partial<CommandContext> = {}): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const transcript: string[] = [];
  return {
    stdout,
    stderr,
    transcript,
    out: (line) => {
      stdout.push(...line.split("\n"));
      transcript.push(...line.split("\n"));
    },
    err: (line) => {
      stderr.push(...line.split("\n"));
      transcript.push(...line.split("\n").map((l) => "! " + l));
    },
    mode,
    sleep: async () => {},
    interrupted: async () => {},
    ...overrides,
  };
}
