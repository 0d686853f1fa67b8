// The built-in dashboard (GET / on any node's admin port): the ensemble, its traffic, a tree
// browser and live watch events. The ensemble's addresses come from ?ensemble=host:port,...
// (default: the node that served the page); the tree goes through @keeper/client over
// WebSocket with the same addresses, so when the node it talks to dies the client moves to
// another and the page follows.
import { EventType, connect, type KeeperClient, type WatchEvent } from "@keeper/client";
import { lagOf, pollNode, sparkline, traffic, type NodeStatus, type Polled } from "./ensemble.ts";
import { aclText, childPath, formatData, hexZxid, parentOf, statRows, type DataFormat } from "./format.ts";

const POLL_MS = 1_000;
/** Chart points kept: two minutes at one a second. */
const SAMPLES_MAX = 120;
/** Watch events kept on the page. */
const EVENTS_MAX = 200;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = (tag: string, text?: string, cls?: string): HTMLElement => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

const params = new URLSearchParams(location.search);
const ensemble = (params.get("ensemble") ?? location.host).split(",").map((a) => a.trim()).filter((a) => a !== "");
$<HTMLInputElement>("ensemble").value = ensemble.join(",");
$<HTMLInputElement>("ensemble").addEventListener("change", (ev) => {
  const next = new URL(location.href);
  next.searchParams.set("ensemble", (ev.target as HTMLInputElement).value);
  location.href = next.toString();
});

// ---- ensemble and traffic --------------------------------------------------------------------

let previous: { at: number; statuses: Map<string, NodeStatus> } | undefined;
const rates: number[] = [];
const latencies: number[] = [];

async function pollEnsemble(): Promise<void> {
  const polled = await Promise.all(ensemble.map((a) => pollNode(a, POLL_MS - 100)));
  renderNodes(polled);
  const now = { at: performance.now(), statuses: new Map(polled.filter((p) => p.status).map((p) => [p.address, p.status!])) };
  if (previous) {
    const t = traffic(previous.statuses, now.statuses, (now.at - previous.at) / 1000);
    push(rates, t.requestsPerSec);
    if (t.latencyMs !== undefined) push(latencies, t.latencyMs);
    $("rate-now").textContent = t.requestsPerSec.toFixed(1);
    $("latency-now").textContent = t.latencyMs === undefined ? "–" : t.latencyMs.toFixed(2);
    drawChart("rate-chart", rates);
    drawChart("latency-chart", latencies);
  }
  previous = now;
}

function push(values: number[], v: number): void {
  values.push(v);
  if (values.length > SAMPLES_MAX) values.shift();
}

function drawChart(id: string, values: number[]): void {
  const svg = $(id);
  svg.innerHTML = `<path d="${sparkline(values, 300, 70)}" fill="none" stroke="#2457a6" stroke-width="1.5" vector-effect="non-scaling-stroke"/>`;
}

/** Each address's server id once seen, so a node that went down still shows which one it is. */
const knownIds = new Map<string, number>();

function renderNodes(polled: Polled[]): void {
  for (const p of polled) if (p.status) knownIds.set(p.address, p.status.serverId);
  const body = $("nodes");
  body.replaceChildren(
    ...polled.map((p) => {
      const tr = el("tr");
      tr.dataset.address = p.address;
      const s = p.status;
      const role = s ? (s.state === "read-only" ? "read-only" : s.role) : "down";
      tr.dataset.role = role;
      const badge = el("span", role, `badge ${role}`);
      const cells: Array<string | HTMLElement> = s
        ? [String(s.serverId), p.address, badge, s.serving ? "yes" : s.state === "read-only" ? "read-only" : "no", String(s.epoch), hexZxid(s.lastZxid), lagOf(s, polled), String(s.sessions), String(s.clients), String(s.nodes), s.activity]
        : [String(knownIds.get(p.address) ?? "?"), p.address, badge, "", "", "", "", "", "", "", p.error ?? "down"];
      for (const c of cells) {
        const td = el("td");
        if (typeof c === "string") td.textContent = c;
        else td.append(c);
        tr.append(td);
      }
      return tr;
    }),
  );
  const leader = polled.find((p) => p.status?.role === "leading" && p.status.serving)?.status;
  const up = polled.filter((p) => p.status).length;
  $("summary").textContent = leader ? `leader: node ${leader.serverId}, epoch ${leader.epoch}; ${up} of ${polled.length} nodes answer` : `no serving leader; ${up} of ${polled.length} nodes answer`;
}

// ---- tree browser and watches ------------------------------------------------------------------

let client: KeeperClient | undefined;
/** Wait before a new session after one expired or could not be opened. */
const RECONNECT_MS = 1_000;
let current = params.get("path") ?? "/";
let format: DataFormat = "text";
let shown: Uint8Array = new Uint8Array(0);

function logEvent(text: string): void {
  const box = $("events");
  const line = el("div", `${new Date().toISOString().slice(11, 23)}  ${text}`);
  box.prepend(line);
  while (box.childElementCount > EVENTS_MAX) box.lastElementChild!.remove();
}

const EVENT_NAMES = new Map<number, string>(Object.entries(EventType).map(([k, v]) => [v, k]));

/** One watcher for every watch the page sets: logs the event and, if it is about the znode shown, reloads it (which re-arms). */
const onWatch = (ev: WatchEvent): void => {
  logEvent(`${EVENT_NAMES.get(ev.type) ?? ev.type} ${ev.path}`);
  if (ev.path === current) void show(current);
};

async function show(path: string): Promise<void> {
  current = path;
  $("tree-error").textContent = "";
  renderCrumbs(path);
  if (!client) return;
  try {
    const [{ data, stat }, { children }, { acl }] = await Promise.all([client.getData(path, { watch: onWatch }), client.getChildren(path, { watch: onWatch }), client.getACL(path)]);
    if (path !== current) return;
    shown = data;
    renderData();
    $("data-size").textContent = `${data.length} bytes`;
    $("stat").replaceChildren(...statRows(stat).map(([k, v]) => {
      const tr = el("tr");
      tr.append(el("th", k), el("td", v));
      return tr;
    }));
    $("acl").textContent = aclText(acl);
    $("children").replaceChildren(...children.sort().map((name) => {
      const li = el("li");
      const a = el("a", name);
      a.dataset.path = childPath(path, name);
      a.addEventListener("click", () => void show(childPath(path, name)));
      li.append(a);
      return li;
    }));
  } catch (e) {
    $("tree-error").textContent = `${path}: ${(e as Error).message}`;
  }
}

function renderCrumbs(path: string): void {
  const parts = path === "/" ? [] : path.slice(1).split("/");
  const links: HTMLElement[] = [];
  const root = el("a", "/");
  root.addEventListener("click", () => void show("/"));
  links.push(root);
  parts.forEach((name, i) => {
    const target = "/" + parts.slice(0, i + 1).join("/");
    const a = el("a", name);
    a.addEventListener("click", () => void show(target));
    if (i > 0) links.push(el("span", " / "));
    links.push(a);
  });
  if (path !== "/") {
    const up = el("a", "  ↑ up");
    up.addEventListener("click", () => void show(parentOf(path)));
    links.push(up);
  }
  $("crumbs").replaceChildren(...links);
}

function renderData(): void {
  $("data").textContent = formatData(shown, format);
}

for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>("#formats button"))) {
  b.addEventListener("click", () => {
    format = b.dataset.format as DataFormat;
    for (const o of Array.from(document.querySelectorAll<HTMLButtonElement>("#formats button"))) o.setAttribute("aria-pressed", String(o === b));
    renderData();
  });
}

async function start(): Promise<void> {
  void pollEnsemble();
  setInterval(() => void pollEnsemble(), POLL_MS);
  renderCrumbs(current);
  await openClient();
}

/**
 * Opens a session (again after one expired: a failover that outlasts the session timeout, a
 * laptop asleep). An operator's page must not stay dead; it retries until a server takes it.
 */
async function openClient(): Promise<void> {
  const state = $("client-state");
  let opened: KeeperClient;
  try {
    // Read-only servers are fine for browsing: the page keeps working while a quorum is lost.
    opened = await connect(ensemble.join(","), { canBeReadOnly: true, sessionTimeoutMs: 10_000, requestTimeoutMs: 8_000 });
  } catch (e) {
    state.textContent = "failed";
    $("tree-error").textContent = `cannot connect: ${(e as Error).message}; retrying`;
    setTimeout(() => void openClient(), RECONNECT_MS);
    return;
  }
  const reopened = client !== undefined;
  client = opened;
  $("tree-error").textContent = "";
  state.textContent = opened.state;
  opened.on("state", (s) => {
    if (client !== opened) return;
    state.textContent = s;
    logEvent(`client ${s}`);
    // Back after a failover: the watches were re-armed by the client; reload what is shown.
    if (s === "connected" || s === "readOnly") void show(current);
    // The session is gone for good: start a new one (its watches are armed by show()).
    if (s === "expired") setTimeout(() => void openClient(), RECONNECT_MS);
  });
  if (reopened) logEvent(`client ${opened.state} (new session)`);
  await show(current);
}

void start();
