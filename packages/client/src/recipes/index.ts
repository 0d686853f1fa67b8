// Coordination recipes on the Keeper client: the public surface, re-exported by the
// package's index.ts.

export { RecipeError, isRecipeError, type RecipeErrorCode } from "./errors.ts";
export type { ClientFactory, ClientSource } from "./client-handle.ts";
export type { WaitOptions } from "./internal.ts";
export { LeaderElection, type LeaderElectionOptions, type LeaderElectionEvents, type FollowerInfo, type FollowerReason } from "./leader-election.ts";
export { Lock, ReadWriteLock, type AcquireOptions, type LockOptions, type LockEvents } from "./lock.ts";
export { GroupMembership, type GroupMembershipOptions, type GroupMembershipEvents, type Member } from "./group-membership.ts";
export { Barrier } from "./barrier.ts";
export { DoubleBarrier } from "./double-barrier.ts";
export { DistributedQueue, type QueueItem } from "./distributed-queue.ts";
export { NodeCache, type NodeCacheEvents } from "./node-cache.ts";
export { TreeCache, type TreeCacheOptions, type TreeCacheEvents, type TreeCacheChange, type CachedNode } from "./tree-cache.ts";
