// Errors the recipes raise themselves. Failures of the underlying calls stay KeeperErrors
// with ZooKeeper's codes; an aborted wait rejects with the AbortSignal's reason, as every
// client call does.

/** Stable codes; messages are free to change. */
export type RecipeErrorCode =
  /** A wait (acquire, take, enter, barrier wait, ...) passed its timeoutMs. */
  | "TIMEOUT"
  /** The session ended (expired) while the recipe needed it: ephemerals are gone. */
  | "SESSION_EXPIRED"
  /** The client was closed by the application while the recipe needed it. */
  | "CLOSED"
  /** release() without holding the lock, leave() without entering, ... */
  | "NOT_HELD"
  /** The recipe is already doing what was asked (acquire twice, start twice). */
  | "BUSY";

export class RecipeError extends Error {
  readonly code: RecipeErrorCode;
  constructor(code: RecipeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RecipeError";
    this.code = code;
  }
}

export function isRecipeError(e: unknown, code?: RecipeErrorCode): e is RecipeError {
  return e instanceof RecipeError && (code === undefined || e.code === code);
}
