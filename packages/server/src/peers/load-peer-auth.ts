// Reads the peer credentials a configuration names (the secret, or its file; the TLS files) once
// at start. A file that cannot be read, or a secret too short, stops the node with a ConfigError.
import { readFileSync } from "node:fs";
import { ConfigError, type ServerConfig } from "../config.ts";
import { PEER_SECRET_CHARS_MIN, type PeerAuth } from "./peer-auth.ts";

function readConfigFile(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(e as Error).message}`);
  }
}

export function loadPeerAuth(c: ServerConfig): PeerAuth {
  const auth: PeerAuth = {};
  const secret = c.peerSecretFile !== "" ? readConfigFile("peerSecretFile", c.peerSecretFile).toString("utf8").trim() : c.peerSecret;
  if (secret !== "") {
    if (secret.length < PEER_SECRET_CHARS_MIN) throw new ConfigError(`the peer secret in ${c.peerSecretFile || "peerSecret"} must be at least ${PEER_SECRET_CHARS_MIN} characters`);
    auth.secret = Buffer.from(secret, "utf8");
  }
  if (c.peerTlsCert !== "") {
    auth.tls = { cert: readConfigFile("peerTlsCert", c.peerTlsCert), key: readConfigFile("peerTlsKey", c.peerTlsKey), ca: readConfigFile("peerTlsCa", c.peerTlsCa) };
  }
  if (!auth.secret && !auth.tls) throw new ConfigError("peer links need a secret (peerSecret, peerSecretFile) or TLS (peerTlsCert, peerTlsKey, peerTlsCa)");
  return auth;
}
