// The identities and ACL lists of the differential test. Every list has a short name (names keep
// the printed sequences short); together they cover every shape ZooKeeper 3.8's fixupACL and
// checkACL distinguish (PrepRequestProcessor.fixupACL: duplicates removed with ACL.equals, then
// "world" must name "anyone", "auth" expands to the session's authenticated ids, any other scheme
// must have a provider whose isValid accepts the id):
//  - world:anyone with several permission sets, and world with another id (INVALIDACL);
//  - ip: an address, a CIDR range, a /0 range (everyone), an address with leading zeros (Java's
//    parseInt reads them), an address that is not this test's (valid, but it locks everyone
//    out), and malformed ones ("1.2.3", a /33 mask);
//  - digest: bob's and alice's "user:base64(sha1(user:password))", an id without a colon, with
//    two colons, with a trailing colon (Java's split drops trailing empty strings, so
//    "bob:hash:" has two parts and is valid), and with an empty user (":hash", valid);
//  - auth with an empty id, a null id (kazoo sends CREATOR_ALL_ACL's "" as null) and some id
//    (ignored): expanded to the session's digest identities, INVALIDACL when it has none;
//  - null ids where the provider reads them (world, ip, digest: ZooKeeper's NullPointerException,
//    answered MARSHALLINGERROR), a null scheme, an unknown scheme, the empty list;
//  - duplicates ([A, A], [A, B, A]), auth duplicated, auth next to the digest it expands to
//    (duplicates after expansion are kept), and mixed valid/invalid lists.
// Left out, as ZooKeeper bugs (KNOWN DIFFERENCES in ../differential.test.ts): a list where an
// entry with a null id follows an equal-permission entry of the same scheme ([auth:"", auth:null],
// [auth:null, auth:null]), or a null scheme follows an equal-permission entry; ZooKeeper's
// duplicate check calls equals on the null and fails the request with MARSHALLINGERROR.
import { createHash } from "node:crypto";
import type { JuteAcl } from "@keeper/protocol";

/** The users that sessions authenticate as (digest scheme), with their passwords. */
export const USERS = { bob: "bob:secret", alice: "alice:wonder" } as const;
export type User = keyof typeof USERS;

/** The digest identity ZooKeeper derives from "user:password": user:base64(sha1(user:password)). */
export function digestId(userPassword: string): string {
  return `${userPassword.split(":")[0]}:${createHash("sha1").update(userPassword).digest("base64")}`;
}

const BOB = digestId(USERS.bob);
const ALICE = digestId(USERS.alice);

const world = (perms: number): JuteAcl => ({ perms, scheme: "world", id: "anyone" });
const entry = (scheme: string | null, id: string | null, perms = 31): JuteAcl => ({ perms, scheme, id });

/** Every ACL list the generator uses, by name. */
export const ACLS = {
  open: [world(31)],
  read: [world(1)],
  readWrite: [world(3)],
  nodelete: [world(31 & ~8)],
  nocreate: [world(31 & ~4)],
  noadmin: [world(15)],
  none: [world(0)],
  worldOther: [entry("world", "someone")],
  worldNull: [entry("world", null)],
  ip: [entry("ip", "127.0.0.1")],
  ipCidr: [entry("ip", "127.0.0.0/8")],
  ipEveryone: [entry("ip", "10.0.0.0/0")],
  ipZeros: [entry("ip", "127.000.000.001")],
  ipOther: [entry("ip", "10.0.0.1")],
  ipShort: [entry("ip", "1.2.3")],
  ipMask33: [entry("ip", "10.0.0.0/33")],
  ipNull: [entry("ip", null)],
  digest: [entry("digest", BOB)],
  digestAlice: [entry("digest", ALICE)],
  digestNoColon: [entry("digest", "bob")],
  digestTwoColons: [entry("digest", "bob:x:y")],
  digestTrailingColon: [entry("digest", `${BOB}:`)],
  digestNoUser: [entry("digest", ":hash")],
  digestNull: [entry("digest", null)],
  auth: [entry("auth", "")],
  worldThenAuthNull: [world(31), entry("auth", null)],
  authNull: [entry("auth", null)],
  authSomeId: [entry("auth", "whoever")],
  authRead: [entry("auth", "", 1)],
  schemeNull: [entry(null, "anyone")],
  schemeUnknown: [entry("foo", "bar")],
  empty: [],
  dupOpen: [world(31), world(31)],
  dupABA: [world(31), entry("ip", "127.0.0.1"), world(31)],
  dupAuth: [entry("auth", ""), entry("auth", "")],
  /** No NullPointerException here: the later entry's id is "", compared with equals to null. */
  authNullThenEmpty: [entry("auth", null), entry("auth", "")],
  authNullTwoPerms: [entry("auth", null), entry("auth", null, 1)],
  authAndDigest: [entry("auth", ""), entry("digest", BOB)],
  authOrWorldRead: [entry("auth", ""), world(1)],
  digestOrWorldRead: [world(1), entry("digest", BOB)],
  bobAndAlice: [entry("digest", BOB, 3), entry("digest", ALICE, 31)],
  twoWorldPerms: [world(1), world(3)],
  mixedBad: [world(31), entry("ip", "1.2.3")],
  mixedNull: [world(31), entry("digest", null)],
} as const satisfies Record<string, readonly JuteAcl[]>;
export type AclName = keyof typeof ACLS;

/** Names of every list, for the generator: every one but "open" is rare. */
export const ACL_NAMES = Object.keys(ACLS) as AclName[];

/** The lists with a null id in a scheme whose provider reads the id (ZooKeeper: MARSHALLINGERROR). */
export const NULL_ID_ACLS: ReadonlySet<AclName> = new Set<AclName>(["worldNull", "ipNull", "digestNull", "mixedNull"]);
