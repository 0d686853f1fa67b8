// What one node knows about itself at one moment: the snapshot that /status shows as JSON and
// /metrics renders for Prometheus (built once per request from counters, never a tree walk).
import type { LearnerState } from "@keeper/core";
import type { EventLoopStats } from "../event-loop-monitor.ts";

export interface MetricFacts {
  state: string;
  role: string;
  serving: boolean;
  leader: number | null;
  epoch: number;
  acceptedEpoch: number;
  lastZxid: number;
  lastLoggedZxid: number;
  nodes: number;
  ephemerals: number;
  approximateDataSize: number;
  sessions: number;
  localSessions: number;
  clients: number;
  outstanding: number;
  packetsSent: number;
  quorumSize: number;
  watches: { watches: number; paths: number };
  peers: Array<{ id: number; self: boolean; connected: boolean }>;
  learners: LearnerState[];
  uptimeMs: number;
  eventLoop: EventLoopStats;
  counters: { requests: number; reads: number; writes: number; errors: number; connects: number; readOnlyConnects: number; refusedNotServing: number; repliesTooBig: number; throttlePauses: number };
  log: { batches: number; txns: number; snapshots: number; messagesOut: number; messagesIn: number; framesOut: number; divergences: number; resyncs: number };
}
