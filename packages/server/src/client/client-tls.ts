// The certificate clients see on the TLS listeners (the native port as HTTPS/wss://, and the
// secure ZooKeeper port), read once at start.
import { readFileSync } from "node:fs";
import { ConfigError, type ServerConfig } from "../config.ts";

export interface ClientTls {
  key: Buffer;
  cert: Buffer;
}

export function loadClientTls(c: ServerConfig): ClientTls | undefined {
  if (c.clientTlsCert === "") return undefined;
  const read = (setting: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`${setting}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  return { cert: read("clientTlsCert", c.clientTlsCert), key: read("clientTlsKey", c.clientTlsKey) };
}
