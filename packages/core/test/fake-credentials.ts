// A stand-in for the shell's credential check (node:crypto's SHA-1 is not in the core).
import type { CredentialCheck } from "../src/index.ts";

const dec = new TextDecoder();

/** A stand-in for the shell's digest: "user:pw" proves digest "user:<pw reversed>"; "root:x" also proves super. */
export const fakeCredentials: CredentialCheck = (scheme, auth) => {
  const text = dec.decode(auth);
  const colon = text.indexOf(":");
  if (scheme !== "digest" || colon <= 0) return undefined;
  const digest = { scheme: "digest", id: `${text.slice(0, colon)}:${[...text.slice(colon + 1)].reverse().join("")}` };
  return text === "root:x" ? [{ scheme: "super", id: "" }, digest] : [digest];
};

