import { Perms, limits, type Acl, type Identity } from "@keeper/protocol";

const SCHEMES = new Set(["world", "ip", "digest", "sasl", "x509", "super", "auth"]);

/** Why an ACL list cannot be stored (ZooKeeper answers INVALIDACL), or undefined. */
export function aclProblem(acl: Acl[]): string | undefined {
  if (acl.length === 0) return "ACL list is empty";
  if (acl.length > limits.aclEntriesMax) return `ACL list has ${acl.length} entries, max ${limits.aclEntriesMax}`;
  for (const a of acl) {
    if (!Number.isInteger(a.perms) || a.perms < 0 || a.perms > Perms.ALL) return `invalid permissions ${a.perms}`;
    if (!SCHEMES.has(a.scheme)) return `unknown ACL scheme ${JSON.stringify(a.scheme)}`;
    if (a.scheme === "world" && a.id !== "anyone") return `world scheme takes id "anyone", not ${JSON.stringify(a.id)}`;
  }
  return undefined;
}

/**
 * ZooKeeper's fixupACL: an "auth" entry stands for every identity the client authenticated
 * (its address does not count), with the entry's permissions. None: the ACL is invalid.
 */
export function expandAuthAcl(acl: Acl[], ids: readonly Identity[]): Acl[] | string {
  if (!acl.some((a) => a.scheme === "auth")) return acl;
  const authed = ids.filter((i) => i.scheme !== "ip");
  if (authed.length === 0) return "an ACL of scheme auth needs an authenticated identity (send an auth packet first)";
  return acl.flatMap((a) => (a.scheme === "auth" ? authed.map((i) => ({ perms: a.perms, scheme: i.scheme, id: i.id })) : [a]));
}

/** Whether `acl` grants `perm` to a client with identities `ids` (ZooKeeper's checkACL). */
export function aclAllows(acl: readonly Acl[], perm: number, ids: readonly Identity[]): boolean {
  if (ids.some((i) => i.scheme === "super")) return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    if (a.scheme === "world" && a.id === "anyone") return true;
    for (const i of ids) {
      if (i.scheme !== a.scheme) continue;
      if (a.scheme === "ip" ? ipMatches(a.id, i.id) : a.id === i.id) return true;
    }
  }
  return false;
}

/** An "ip" ACL id is an IPv4 address or CIDR block ("10.0.0.0/8"). */
function ipMatches(pattern: string, address: string): boolean {
  const [base, bitsText] = pattern.split("/");
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const a = ipv4(base ?? "");
  const b = ipv4(address.replace(/^::ffff:/, ""));
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return pattern === address;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

function ipv4(s: string): number | undefined {
  const parts = s.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}
