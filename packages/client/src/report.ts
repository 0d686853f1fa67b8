// User callbacks (watchers, state listeners) run inside the client's frame handler; an
// exception escaping them would break the connection's bookkeeping. They are caught, and
// handed to the host's reportError when it has one (browsers, Deno) so they are not lost.

type ReportError = (e: unknown) => void;

export function reportCallbackError(e: unknown): void {
  const report = (globalThis as { reportError?: ReportError }).reportError;
  if (typeof report === "function") {
    try {
      report(e);
    } catch {
      // Reporting must never throw back into the client.
    }
  }
}
