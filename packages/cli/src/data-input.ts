// Znode data from the command line, a file, or standard input (`set /a -`, `set /a -f x.bin`).
import { readFile, stat } from "node:fs/promises";
import type { CommandContext } from "./context.ts";
import { UsageError } from "./errors.ts";

/**
 * Files larger than this are refused before they are read: far above any server's data limit
 * (1 MiB by default), it only keeps a mistaken path (a disk image) out of memory.
 */
export const DATA_INPUT_BYTES_MAX = 64 * 1024 * 1024;
const encoder = new TextEncoder();

export async function dataInput(source: { text: string } | { file: string }, ctx: CommandContext): Promise<Uint8Array> {
  if ("text" in source) return encoder.encode(source.text);
  if (source.file === "-") {
    if (ctx.readStdin === undefined) throw new UsageError("data from standard input works in a one-shot command only, not in the shell");
    return ctx.readStdin(DATA_INPUT_BYTES_MAX);
  }
  let size: number;
  try {
    size = (await stat(source.file)).size;
  } catch (err) {
    throw new UsageError(`--file ${source.file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  if (size > DATA_INPUT_BYTES_MAX) throw new UsageError(`--file ${source.file}: ${size} bytes is more than any znode may hold`);
  return new Uint8Array(await readFile(source.file));
}

/** Reads a whole stream, refusing one longer than `bytesMax`. */
export async function readAll(stream: NodeJS.ReadableStream, bytesMax: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    total += buf.length;
    if (total > bytesMax) throw new UsageError(`standard input: more than ${bytesMax} bytes`);
    parts.push(buf);
  }
  return new Uint8Array(Buffer.concat(parts));
}
