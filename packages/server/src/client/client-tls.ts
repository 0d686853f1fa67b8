// The certificate clients see on the TLS listeners (the native port as HTTPS/wss://, and the
// secure ZooKeeper port), read once at start; and, with a client CA, the identity a client's
// own certificate gives it (x509:<subject DN>, as ZooKeeper's X509AuthenticationProvider).
import { readFileSync } from "node:fs";
import { TLSSocket, type TlsOptions } from "node:tls";
import { ConfigError, type ServerConfig } from "../config.ts";

export interface ClientTls {
  key: Buffer;
  cert: Buffer;
  /** CA for clients' certificates: asked for (not required) when set. */
  ca?: Buffer;
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
  return { cert: read("clientTlsCert", c.clientTlsCert), key: read("clientTlsKey", c.clientTlsKey), ...(c.clientTlsCa !== "" ? { ca: read("clientTlsCa", c.clientTlsCa) } : {}) };
}

/**
 * Options for a TLS listener. A client CA makes the listener ask for a certificate without
 * requiring one (ZooKeeper's ssl.clientAuth=want): a client without one, or with one another
 * CA signed, is served with no x509 identity.
 */
export function tlsServerOptions(tls: ClientTls): TlsOptions {
  return { key: tls.key, cert: tls.cert, minVersion: "TLSv1.2", ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}) };
}

/** Longest subject DN taken as an identity; a longer one gives none. */
const DN_CHARS_MAX = 1024;

/**
 * The subject DN of the client's certificate when the client CA verified it, as Java's
 * X500Principal.getName() writes it (RFC 2253: most specific first, "CN=alice,O=acme,C=NL"),
 * which is the id ZooKeeper's x509 ACL entries name; undefined otherwise.
 */
export function certificateIdentity(socket: unknown): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const subject = socket.getPeerX509Certificate()?.subject;
  if (!subject) return undefined;
  // Node gives the RDNs one per line, least specific first.
  const dn = subject.split("\n").filter((l) => l !== "").reverse().join(",");
  return dn !== "" && dn.length <= DN_CHARS_MAX ? dn : undefined;
}
