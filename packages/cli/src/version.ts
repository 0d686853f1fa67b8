// The version `keeper --version` prints: @keeper/cli's own package.json, read next to the
// running code, so the source tree and an installed package both report what they are.
import { readFileSync } from "node:fs";

export function keeperVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof manifest.version !== "string") throw new Error("@keeper/cli's package.json has no version");
  return manifest.version;
}
