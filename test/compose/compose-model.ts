// What the compose test needs to know about deploy/Dockerfile and the compose files, read from
// the files themselves: the image's runtime (final stage ENV, WORKDIR, COPY, ENTRYPOINT, CMD,
// HEALTHCHECK), every stage's RUN commands, and each service's settings, normalised across the forms compose accepts.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseYamlSubset, type YamlValue } from "./yaml-subset.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

export interface ImageRuntime {
  env: Record<string, string>;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  /** The HEALTHCHECK's CMD (exec form), without the leading "CMD". */
  healthcheck: string[];
  exposed: number[];
  user: string | undefined;
  volumes: string[];
  /** The final stage's COPY instructions: `from` is the stage copied from, or undefined for the build context. */
  copies: Array<{ from: string | undefined; source: string; dest: string }>;
  /** Every stage's RUN commands (shell form, continuation lines joined), by stage name. */
  runs: Record<string, string[]>;
}

/** Reads the final stage of a Dockerfile written with exec-form ENTRYPOINT/CMD/HEALTHCHECK and key=value ENV. */
export function readDockerfile(path: string): ImageRuntime {
  const logical: string[] = [];
  let pending = "";
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) continue; // Docker drops comment lines, inside continued instructions too
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    if (full !== "") logical.push(full);
  }
  const lastFrom = logical.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  if (lastFrom < 0) throw new Error(`${path}: no FROM`);
  const rt: ImageRuntime = { env: {}, workdir: "/", entrypoint: [], cmd: [], healthcheck: [], exposed: [], user: undefined, volumes: [], copies: [], runs: {} };
  let stage = "";
  for (const l of logical) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) stage = from[1] ?? "";
    else if (/^RUN\s/i.test(l)) (rt.runs[stage] ??= []).push(l.replace(/^RUN\s+/i, "").replace(/\s+/g, " "));
  }
  for (const l of logical.slice(lastFrom + 1)) {
    const m = /^(\w+)\s+(.*)$/s.exec(l);
    if (!m) continue;
    const [, instr, args] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case "ENV":
        for (const [k, v] of envPairs(args, path)) rt.env[k] = v;
        break;
      case "WORKDIR":
        rt.workdir = resolve(rt.workdir, args.trim());
        break;
      case "ENTRYPOINT":
        rt.entrypoint = execForm(args, "ENTRYPOINT", path);
        rt.cmd = []; // as Docker does: a new ENTRYPOINT resets an inherited CMD
        break;
      case "CMD":
        rt.cmd = execForm(args, "CMD", path);
        break;
      case "HEALTHCHECK": {
        const hm = /\bCMD\s+(\[.*\])\s*$/s.exec(args);
        if (!hm) throw new Error(`${path}: HEALTHCHECK must use CMD ["exec", "form"]`);
        rt.healthcheck = execForm(hm[1]!, "HEALTHCHECK", path);
        break;
      }
      case "EXPOSE":
        rt.exposed.push(...args.split(/\s+/).map((p) => Number(p.replace(/\/tcp$/, ""))));
        break;
      case "USER":
        rt.user = args.trim();
        break;
      case "COPY": {
        const words = args.trim().split(/\s+/);
        const fromFlag = words[0]?.startsWith("--from=") ? words.shift()!.slice("--from=".length) : undefined;
        if (words.length !== 2 || words.some((w) => w.startsWith("--"))) throw new Error(`${path}: the final stage's COPY must be [--from=STAGE] SOURCE DEST, got: ${args}`);
        rt.copies.push({ from: fromFlag, source: words[0]!, dest: resolve(rt.workdir, words[1]!) });
        break;
      }
      case "VOLUME":
        rt.volumes.push(...(args.trim().startsWith("[") ? execForm(args, "VOLUME", path) : args.trim().split(/\s+/)));
        break;
    }
  }
  return rt;
}

function execForm(args: string, instr: string, path: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(args.trim());
  } catch {
    throw new Error(`${path}: ${instr} must be in exec (JSON array) form, got ${args}`);
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error(`${path}: ${instr} must be an array of strings`);
  return v;
}

function envPairs(args: string, path: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/gy;
  let rest = args.trim();
  while (rest !== "") {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (!m) throw new Error(`${path}: ENV must be written as KEY=value pairs, got: ${rest}`);
    const raw = m[2]!;
    out.push([m[1]!, raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
    rest = rest.slice(m[0].length).trimStart();
  }
  return out;
}

export interface PortMapping {
  hostIp: string | undefined;
  published: number | undefined;
  target: number;
}

export interface ComposeService {
  name: string;
  image: string | undefined;
  build: { context: string; dockerfile: string } | undefined;
  hostname: string | undefined;
  init: boolean;
  restart: string | undefined;
  environment: Record<string, string>;
  command: string[] | undefined;
  entrypoint: string[] | undefined;
  ports: PortMapping[];
  volumes: Array<{ source: string; target: string }>;
  healthcheck: string[] | undefined;
  /** Compose profiles the service belongs to; empty: it always starts. */
  profiles: string[];
  /** Names of the compose secrets the service gets (mounted at /run/secrets/<name>). */
  secrets: string[];
}

export interface ComposeFile {
  path: string;
  /** The services that start by default (the Keeper nodes). */
  services: ComposeService[];
  /** Services that start only with a profile (monitoring: Prometheus, Grafana). */
  profiled: ComposeService[];
  volumes: string[];
  /** Top-level secrets: name -> the file it is read from (resolved against the file's directory). */
  secrets: Record<string, string>;
}

type Obj = { [key: string]: YamlValue };
const isObj = (v: YamlValue | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: YamlValue | undefined): string | undefined => (v === undefined || v === null ? undefined : String(v));

/** Reads a compose file (or `docker-compose config` output, given as `text`). */
export function readCompose(path: string, text = readFileSync(path, "utf8")): ComposeFile {
  const doc = parseYamlSubset(text);
  if (!isObj(doc) || !isObj(doc.services)) throw new Error(`${path}: no services`);
  const base = dirname(path);
  const all = Object.entries(doc.services).map(([name, raw]): ComposeService => {
    if (!isObj(raw)) throw new Error(`${path}: service ${name} is not a mapping`);
    const build = typeof raw.build === "string" ? { context: resolve(base, raw.build), dockerfile: "Dockerfile" } : isObj(raw.build) ? { context: resolve(base, str(raw.build.context) ?? "."), dockerfile: str(raw.build.dockerfile) ?? "Dockerfile" } : undefined;
    return {
      name,
      image: str(raw.image),
      build,
      hostname: str(raw.hostname),
      init: raw.init === true,
      restart: str(raw.restart),
      environment: environment(raw.environment),
      command: commandOf(raw.command),
      entrypoint: commandOf(raw.entrypoint),
      ports: (Array.isArray(raw.ports) ? raw.ports : []).map(port),
      volumes: (Array.isArray(raw.volumes) ? raw.volumes : []).map((v) => {
        if (isObj(v)) return { source: str(v.source) ?? "", target: str(v.target) ?? "" };
        const [source = "", target = ""] = String(v).split(":");
        return { source, target };
      }),
      healthcheck: isObj(raw.healthcheck) ? healthTest(raw.healthcheck.test) : undefined,
      profiles: Array.isArray(raw.profiles) ? raw.profiles.map(String) : [],
      // Short syntax (a name) in our files; `docker-compose config` writes the long one.
      secrets: (Array.isArray(raw.secrets) ? raw.secrets : []).map((v) => (isObj(v) ? (str(v.source) ?? "") : String(v))),
    };
  });
  const services = all.filter((s) => s.profiles.length === 0);
  const profiled = all.filter((s) => s.profiles.length > 0);
  const secrets = isObj(doc.secrets) ? Object.fromEntries(Object.entries(doc.secrets).map(([name, v]) => [name, resolve(base, isObj(v) ? (str(v.file) ?? "") : "")])) : {};
  return { path, services, profiled, volumes: isObj(doc.volumes) ? Object.keys(doc.volumes) : [], secrets };
}

function environment(v: YamlValue | undefined): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (Array.isArray(v))
    return Object.fromEntries(
      v.map((e) => {
        const s = String(e);
        const i = s.indexOf("=");
        return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
      }),
    );
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null ? "" : String(x)]));
  throw new Error("environment must be a mapping or a list");
}

function commandOf(v: YamlValue | undefined): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  return String(v).split(/\s+/).filter((s) => s !== ""); // compose splits a string command shell-like; ours are simple
}

function healthTest(v: YamlValue | undefined): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const [kind, ...rest] = v.map(String);
  if (kind !== "CMD") throw new Error(`healthcheck test must use the CMD form, got ${kind}`);
  return rest;
}

function port(v: YamlValue): PortMapping {
  if (isObj(v)) return { hostIp: str(v.host_ip), published: v.published === undefined ? undefined : Number(v.published), target: Number(v.target) };
  const parts = String(v).replace(/\/tcp$/, "").split(":");
  if (parts.length === 1) return { hostIp: undefined, published: undefined, target: Number(parts[0]) };
  if (parts.length === 2) return { hostIp: undefined, published: Number(parts[0]), target: Number(parts[1]) };
  return { hostIp: parts.slice(0, -2).join(":"), published: Number(parts.at(-2)), target: Number(parts.at(-1)) };
}

/** The argv a container of `service` runs, as Docker composes it from the image and the service. */
export function containerArgv(image: ImageRuntime, service: ComposeService): string[] {
  const entrypoint = service.entrypoint ?? image.entrypoint;
  const cmd = service.command ?? (service.entrypoint ? [] : image.cmd);
  return [...entrypoint, ...cmd];
}

/** The docker-compose binary, if installed: its version line, else undefined. */
export function dockerComposeVersion(): string | undefined {
  const r = spawnSync("docker-compose", ["version", "--short"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

export function dockerCompose(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // COMPOSE_* variables from the environment could change the outcome; leave them out.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("COMPOSE_")));
  const r = spawnSync("docker-compose", args, { cwd: REPO_ROOT, encoding: "utf8", env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
}
