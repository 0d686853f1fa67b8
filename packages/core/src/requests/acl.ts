import { limits, type Acl, type Identity, type RequestAcl } from "@keeper/protocol";

/**
 * Schemes an ACL entry may name: those a stock ZooKeeper has a provider for (ip, digest), its
 * two built-ins (world, auth), and x509 (the subject DN of a client certificate, ZooKeeper's
 * X509AuthenticationProvider, which a ZooKeeper with client TLS configures). ZooKeeper answers
 * INVALIDACL for any other scheme (sasl, which Keeper does not authenticate).
 */
const SCHEMES = new Set(["world", "ip", "digest", "auth", "x509"]);
const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/**
 * A request ZooKeeper fails as a whole with MARSHALLINGERROR (an unchecked exception in its
 * PrepRequestProcessor), not as one failed op: a null ACL id where ZooKeeper dereferences it.
 */
export class AclFailure {
  constructor(readonly reason: string) {}
}

/**
 * ZooKeeper's fixupACL, in its order: an empty list is invalid; duplicate entries are dropped
 * (ZooKeeper >= 3.5, ZOOKEEPER-1877, first occurrence kept); each entry is checked; an "auth"
 * entry stands for every identity the client authenticated (its address does not count) with
 * the entry's permissions, and is invalid when there is none. Duplicates are removed before the
 * expansion, as there, so an expanded identity may repeat an explicit entry. Jute nulls are
 * judged as there: a null scheme is INVALIDACL; a null id means nothing for "auth" but fails
 * the request (AclFailure) for world, digest and ip, whose checks read it.
 * Returns the ACL to store, or why it cannot be stored (INVALIDACL); throws AclFailure.
 */
export function fixupAcl(acl: readonly RequestAcl[], ids: readonly Identity[]): Acl[] | string {
  if (acl.length === 0) return "ACL list is empty";
  const unique = withoutDuplicates(acl);
  const authed = ids.filter((i) => i.scheme !== "ip");
  const out: Acl[] = [];
  for (const a of unique) {
    if (a.scheme === null) return "an ACL entry has a null scheme";
    if (a.id === null && ID_READING.has(a.scheme)) throw new AclFailure(`null id in an ACL entry of scheme ${a.scheme}`);
    const problem = entryProblem({ perms: a.perms, scheme: a.scheme, id: a.id ?? "" });
    if (problem) return problem;
    if (a.scheme !== "auth") out.push({ perms: a.perms, scheme: a.scheme, id: a.id! });
    else if (authed.length === 0) return "an ACL of scheme auth needs an authenticated identity (send an auth packet first)";
    else for (const i of authed) out.push({ perms: a.perms, scheme: i.scheme, id: i.id });
  }
  // Checked after the expansion: an "auth" entry may stand for many identities.
  if (out.length > limits.aclEntriesMax) return `ACL list has ${out.length} entries, max ${limits.aclEntriesMax}`;
  return out;
}

/** Schemes whose provider (or fixupACL itself) reads the id: a null one fails there. */
const ID_READING = new Set(["world", "digest", "ip"]);

/**
 * `acl` without entries equal to an earlier one (ZooKeeper's removeDuplicates: ArrayList.contains,
 * so ACL.equals of the new entry against each kept one). That equals compares perms, then
 * scheme, then id, dereferencing the new entry's fields: a null scheme after an entry with the
 * same perms, or a null id after one with the same perms and scheme, throws there (AclFailure
 * here); a null is never equal to a string.
 */
export function withoutDuplicates<A extends RequestAcl>(acl: readonly A[]): A[] {
  const kept: A[] = [];
  for (const a of acl) {
    let duplicate = false;
    for (const k of kept) {
      if (k.perms !== a.perms) continue;
      if (a.scheme === null) throw new AclFailure("an ACL entry with a null scheme repeats the permissions of an earlier one");
      if (a.scheme !== k.scheme) continue;
      if (a.id === null) throw new AclFailure("an ACL entry with a null id repeats the permissions and scheme of an earlier one");
      if (a.id === k.id) {
        duplicate = true;
        break;
      }
    }
    if (!duplicate) kept.push(a);
  }
  return kept;
}

/** Why one ACL entry is invalid (ZooKeeper's provider isValid checks), or undefined. */
function entryProblem(a: Acl): string | undefined {
  // Any 32-bit int, as ZooKeeper stores it: bits beyond ALL grant nothing more, -1 grants all.
  if (!Number.isInteger(a.perms) || a.perms < INT32_MIN || a.perms > INT32_MAX) return `invalid permissions ${a.perms}`;
  if (!SCHEMES.has(a.scheme)) return `unknown ACL scheme ${JSON.stringify(a.scheme)}`;
  if (a.scheme === "world" && a.id !== "anyone") return `world scheme takes id "anyone", not ${JSON.stringify(a.id)}`;
  if (a.scheme === "digest" && !digestIdValid(a.id)) return `a digest ACL id is "user:base64(sha1(user:password))", not ${JSON.stringify(a.id)}`;
  if (a.scheme === "ip" && !ipIdValid(a.id)) return `an ip ACL id is an IPv4 address or CIDR block, not ${JSON.stringify(a.id)}`;
  return undefined;
}

/** DigestAuthenticationProvider.isValid: `id.split(":").length == 2` (Java drops trailing empty parts). */
function digestIdValid(id: string): boolean {
  const parts = id.split(":");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts.length === 2;
}

/** IPAuthenticationProvider.isValid: an IPv4 address, optionally "/bits" with 0 <= bits <= 32. */
function ipIdValid(id: string): boolean {
  const slash = id.indexOf("/");
  const address = slash < 0 ? id : id.slice(0, slash);
  if (ipv4(address) === undefined) return false;
  if (slash < 0) return true;
  const bits = id.slice(slash + 1);
  // Integer.parseInt: an optional sign, then decimal digits.
  if (!/^[+-]?\d+$/.test(bits)) return false;
  const n = Number(bits);
  return n >= 0 && n <= 32;
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

/** A dotted IPv4 address as a number; each part parses as Java's Integer.parseInt would. */
function ipv4(s: string): number | undefined {
  const text = s.split(".");
  if (text.length !== 4 || text.some((p) => !/^[+-]?\d+$/.test(p))) return undefined;
  const parts = text.map(Number);
  if (parts.some((p) => p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}
