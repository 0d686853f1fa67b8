// GET /backup hands out every znode whatever its ACL: only the super user (HTTP Basic) may take
// one when a super user is configured, and only a client on this machine when none is.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { backupRefusal } from "../src/backup/access.ts";

const superDigest = `super:${createHash("sha1").update("super:s3cret").digest("base64")}`;
const req = (remoteAddress: string, authorization?: string) => ({ socket: { remoteAddress }, headers: authorization ? { authorization } : {} }) as unknown as IncomingMessage;
const basic = (cred: string) => `Basic ${Buffer.from(cred).toString("base64")}`;

describe("who may take a backup", () => {
  it("without a super user: loopback only", () => {
    for (const a of ["127.0.0.1", "127.0.0.42", "::1", "::ffff:127.0.0.1"]) expect(backupRefusal(req(a), "")).toBeUndefined();
    for (const a of ["10.0.0.5", "192.168.1.2", "::ffff:10.1.1.1", ""]) expect(backupRefusal(req(a), "")?.status).toBe(403);
  });

  it("with a super user: its credentials, from anywhere, and nothing else", () => {
    expect(backupRefusal(req("10.0.0.5", basic("super:s3cret")), superDigest)).toBeUndefined();
    expect(backupRefusal(req("127.0.0.1"), superDigest)?.status).toBe(401);
    expect(backupRefusal(req("10.0.0.5", basic("super:wrong")), superDigest)?.status).toBe(401);
    expect(backupRefusal(req("10.0.0.5", basic("alice:s3cret")), superDigest)?.status).toBe(401);
    expect(backupRefusal(req("10.0.0.5", "Bearer abc"), superDigest)?.status).toBe(401);
  });
});
