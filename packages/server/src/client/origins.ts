// Which web pages may open a WebSocket to the native port. Browsers send an Origin header and let
// any page connect anywhere, so without a check a page on any site could reach a node through
// its visitor's browser (with the visitor's network position). Programs that are not browsers
// send no Origin and are not affected. A page served by the node itself (same host and port) is
// always allowed; others only when listed in allowedOrigins.

/** Parses "https://app.example.com, http://localhost:3000" (or "*": any page) into a checker. */
export function originChecker(allowedOrigins: string): (origin: string | undefined, host: string | undefined) => boolean {
  const list = allowedOrigins.split(",").map((o) => o.trim().replace(/\/+$/, "").toLowerCase()).filter((o) => o !== "");
  const any = list.includes("*");
  const allowed = new Set(list);
  return (origin, host) => {
    if (origin === undefined) return true;
    if (any) return true;
    const o = origin.replace(/\/+$/, "").toLowerCase();
    if (allowed.has(o)) return true;
    try {
      return host !== undefined && new URL(o).host === host.toLowerCase();
    } catch {
      return false;
    }
  };
}
