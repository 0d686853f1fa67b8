// Majority arithmetic for an ensemble of voters.
import type { ServerId } from "./types.ts";

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** True when `ids` (deduplicated, voters only) form a majority of `voters`. */
export function isQuorum(ids: Iterable<ServerId>, voters: readonly ServerId[]): boolean {
  const members = new Set(voters);
  let n = 0;
  for (const id of new Set(ids)) if (members.has(id)) n++;
  return n >= quorumSize(voters.length);
}

/**
 * The largest value that a majority has reached: with each voter's durable zxid, this is
 * the commit point. `values` holds one entry per voter that reported (missing ones count 0).
 */
export function quorumValue(values: readonly number[], voters: number): number {
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[quorumSize(voters) - 1] ?? 0;
}
