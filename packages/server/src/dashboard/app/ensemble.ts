// The ensemble view: every node's /status, polled once a second from the browser (each node
// answers /status to any origin), drawn as a table, plus the traffic over all nodes computed
// from successive polls: requests per second and the average latency of the requests answered
// in between (the nodes' own counters, not a sample).
export interface NodeStatus {
  serverId: number;
  state: string;
  role: string;
  serving: boolean;
  activity: string;
  leader: number | null;
  epoch: number;
  lastZxid: number;
  sessions: number;
  clients: number;
  nodes: number;
  learners: Array<{ id: number; synced: boolean; lagTxns?: number; lagBeyondWindow?: boolean }>;
  counters: { requests: number };
  latency: { count: number; totalMs: number };
}

export interface Polled {
  address: string;
  status: NodeStatus | undefined;
  error?: string;
}

export async function pollNode(address: string, timeoutMs: number): Promise<Polled> {
  try {
    const res = await fetch(`${location.protocol}//${address}/status`, { signal: AbortSignal.timeout(timeoutMs), cache: "no-store" });
    if (!res.ok) return { address, status: undefined, error: `HTTP ${res.status}` };
    return { address, status: (await res.json()) as NodeStatus };
  } catch (e) {
    return { address, status: undefined, error: (e as Error).name === "TimeoutError" ? "no answer" : "down" };
  }
}

/** How far a node is behind, as its leader sees it; the leader's row says "leader". */
export function lagOf(node: NodeStatus, all: Polled[]): string {
  if (node.role === "leading") return "leader";
  const leader = all.find((p) => p.status?.role === "leading" && p.status.serverId === node.leader)?.status;
  const learner = leader?.learners.find((l) => l.id === node.serverId);
  if (!learner) return "–";
  if (!learner.synced) return "syncing";
  return learner.lagBeyondWindow ? `over ${learner.lagTxns} txns` : `${learner.lagTxns} txns`;
}

export interface TrafficSample {
  requestsPerSec: number;
  /** undefined when no request was answered in the interval. */
  latencyMs: number | undefined;
}

/** Traffic between two polls of the same nodes; a node that restarted (counters went down) counts from zero. */
export function traffic(prev: Map<string, NodeStatus>, now: Map<string, NodeStatus>, seconds: number): TrafficSample {
  let requests = 0;
  let count = 0;
  let totalMs = 0;
  for (const [addr, s] of now) {
    const p = prev.get(addr);
    const restarted = p !== undefined && s.counters.requests < p.counters.requests;
    const before = p && !restarted ? p : undefined;
    requests += s.counters.requests - (before?.counters.requests ?? (p ? 0 : s.counters.requests));
    count += s.latency.count - (before?.latency.count ?? (p ? 0 : s.latency.count));
    totalMs += s.latency.totalMs - (before?.latency.totalMs ?? (p ? 0 : s.latency.totalMs));
  }
  return { requestsPerSec: seconds > 0 ? requests / seconds : 0, latencyMs: count > 0 ? totalMs / count : undefined };
}

/** An SVG polyline path for the last values (at most `width` of them). */
export function sparkline(values: number[], width: number, height: number): string {
  if (values.length === 0) return "";
  const max = Math.max(...values, 1e-9);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values.map((v, i) => `${i === 0 ? "M" : "L"}${(i * step).toFixed(1)},${(height - (v / max) * (height - 4) - 2).toFixed(1)}`).join(" ");
}
