// Who may take a backup. A backup holds every znode whatever its ACL, so GET /backup is not
// open to whoever reaches the admin port: with a super user configured (--super-digest), the
// request must carry the super user's credentials (HTTP Basic, "super:password"); without one,
// only a client on this machine (loopback) may take it.
import type { IncomingMessage } from "node:http";
import { authenticate } from "../client/auth.ts";

/** Why the request may not take a backup (status and message), or undefined when it may. */
export function backupRefusal(req: IncomingMessage, superDigest: string): { status: 401 | 403; message: string } | undefined {
  if (superDigest !== "") {
    const header = req.headers.authorization ?? "";
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    const proven = basic ? authenticate("digest", Buffer.from(basic[1]!, "base64"), superDigest) : undefined;
    if (proven?.some((a) => a.identity.scheme === "super")) return undefined;
    return { status: 401, message: "a backup needs the super user's credentials: keeper backup --auth super:PASSWORD\n" };
  }
  if (isLoopback(req.socket.remoteAddress ?? "")) return undefined;
  return { status: 403, message: "backups are taken from this machine only unless a super user is configured (--super-digest); then pass --auth super:PASSWORD\n" };
}

function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}
