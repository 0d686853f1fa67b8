// What a leader checks in a forwarded write before preparing it. The forwarding follower proved
// it is a member (peer-auth.ts), and like ZooKeeper's learners it vouches for the identities its
// client authenticated with; those identities must still be ones a node of this ensemble can
// grant. The system's identity never travels (peer-codec.ts refuses it).
import type { PeerMessage } from "@keeper/core";

/** Why a forwarded message is refused, or undefined. */
export function forwardProblem(msg: PeerMessage, superDigest: string): string | undefined {
  if (msg.type !== "forward" || msg.req.type !== "write") return undefined;
  const ids = msg.req.ids ?? [];
  if (superDigest === "" && ids.some((i) => i.scheme === "super")) return "a forwarded write claims the super user, and this ensemble has none";
  if (ids.some((i) => i.scheme !== "super" && i.scheme !== "digest" && i.scheme !== "ip")) return "a forwarded write carries an identity of an unknown scheme";
  return undefined;
}
