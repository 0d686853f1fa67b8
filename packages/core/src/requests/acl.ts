import { Perms, limits, type Acl } from "@keeper/protocol";

const SCHEMES = new Set(["world", "ip", "digest", "sasl", "x509", "super"]);

/** Why an ACL list cannot be stored (ZooKeeper answers INVALIDACL), or undefined. */
export function aclProblem(acl: Acl[]): string | undefined {
  if (acl.length === 0) return "ACL list is empty";
  if (acl.length > limits.aclEntriesMax) return `ACL list has ${acl.length} entries, max ${limits.aclEntriesMax}`;
  for (const a of acl) {
    if (!Number.isInteger(a.perms) || a.perms < 0 || a.perms > Perms.ALL) return `invalid permissions ${a.perms}`;
    if (a.scheme === "auth") return "scheme auth needs an authenticated identity (not supported yet)";
    if (!SCHEMES.has(a.scheme)) return `unknown ACL scheme ${JSON.stringify(a.scheme)}`;
    if (a.scheme === "world" && a.id !== "anyone") return `world scheme takes id "anyone", not ${JSON.stringify(a.id)}`;
  }
  return undefined;
}
