// Auth packets: what identities a client gains by one. Only ZooKeeper's "digest" scheme
// (user:password) is known; ZooKeeper stores it as user:base64(sha1(user:password)). When that
// digest equals the configured superDigest the client is also the super user, who passes every
// ACL check (ZooKeeper's DigestAuthenticationProvider adds Id("super", "") first, then the digest).
import { createHash } from "node:crypto";
import { limits, type ClientInfo, type Identity } from "@keeper/protocol";

/** Identities one connection may hold (its ip one included): see limits.identitiesPerConnectionMax. */
export const IDENTITIES_PER_CONNECTION_MAX = limits.identitiesPerConnectionMax;

export interface Authenticated {
  identity: Identity;
  info: ClientInfo;
}

/** The identities an auth packet proves, in the order ZooKeeper adds them; undefined: AUTHFAILED. */
export function authenticate(scheme: string, auth: Uint8Array, superDigest: string): Authenticated[] | undefined {
  if (scheme !== "digest") return undefined;
  const text = new TextDecoder().decode(auth);
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  const user = text.slice(0, colon);
  const id = `${user}:${createHash("sha1").update(text).digest("base64")}`;
  const digest: Authenticated = { info: { authScheme: "digest", user }, identity: { scheme: "digest", id } };
  if (superDigest !== "" && id === superDigest) return [{ info: { authScheme: "super", user: "" }, identity: { scheme: "super", id: "" } }, digest];
  return [digest];
}

/**
 * The leader's check of a credential a follower (or this node) forwarded: the same hashing and
 * super digest as a client's own node applies, computed where the write is prepared.
 */
export function credentialCheck(superDigest: string): (scheme: string, auth: Uint8Array) => Identity[] | undefined {
  return (scheme, auth) => authenticate(scheme, auth, superDigest)?.map((a) => a.identity);
}
