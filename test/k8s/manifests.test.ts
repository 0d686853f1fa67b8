// deploy/k8s/keeper.yaml without a cluster: parsed with the `yaml` package and checked for the
// shape a ZooKeeper-style ensemble needs on Kubernetes (a structural check, field by field, of
// what matters; no cluster API validation), the pod's server-id arithmetic run in a real `sh`,
// and each pod's environment resolved by the server's own configuration code.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { resolveServerConfig, parsePeers } from "@keeper/server";
import { envName } from "../../packages/cli/src/args.ts";
import { SERVER_FIELDS, parseServerInvocation } from "../../packages/cli/src/server-options.ts";
import { REPO_ROOT } from "../support/processes.ts";
import { readDockerfile } from "../compose/compose-model.ts";

const image = readDockerfile(join(REPO_ROOT, "deploy/Dockerfile"));

type Doc = Record<string, any>;
const docs: Doc[] = parseAllDocuments(readFileSync(join(REPO_ROOT, "deploy/k8s/keeper.yaml"), "utf8")).map((d) => {
  if (d.errors.length > 0) throw new Error(`deploy/k8s/keeper.yaml: ${d.errors.map((e) => e.message).join("; ")}`);
  return d.toJS() as Doc;
});
const byKind = (kind: string): Doc[] => docs.filter((d) => d.kind === kind);
const sts = byKind("StatefulSet")[0]!;
const pod = sts.spec.template.spec;
const container = pod.containers[0];
const env = Object.fromEntries((container.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
const headless = byKind("Service").find((s) => s.spec.clusterIP === "None")!;
const tmp = mkdtempSync(join(tmpdir(), "keeper-k8s-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("deploy/k8s/keeper.yaml", () => {
  it("holds a StatefulSet, a headless and a client Service and a PodDisruptionBudget, each with the fields its kind needs", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(["PodDisruptionBudget", "Service", "Service", "StatefulSet"]);
    const apiVersions: Record<string, string> = { Service: "v1", StatefulSet: "apps/v1", PodDisruptionBudget: "policy/v1" };
    for (const d of docs) {
      expect(d.apiVersion, d.kind).toBe(apiVersions[d.kind]);
      expect(d.metadata.name, d.kind).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it("the StatefulSet runs 3 replicas in parallel, behind the headless Service, with a PVC per node mounted at the data dir", () => {
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.podManagementPolicy).toBe("Parallel");
    expect(sts.spec.serviceName).toBe(headless.metadata.name);
    expect(sts.spec.selector.matchLabels).toEqual(sts.spec.template.metadata.labels);
    const claims = sts.spec.volumeClaimTemplates as Doc[];
    expect(claims).toHaveLength(1);
    expect(claims[0]!.spec.accessModes).toEqual(["ReadWriteOnce"]);
    const mount = (container.volumeMounts as Doc[]).find((m) => m.name === claims[0]!.metadata.name)!;
    expect(mount.mountPath).toBe(env.KEEPER_DATA_DIR);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
  });

  it("readiness is /readyz and liveness /healthz, on the client port", () => {
    const clientPort = (container.ports as Doc[]).find((p) => p.name === "client")!;
    expect(clientPort.containerPort).toBe(Number(env.KEEPER_CLIENT_PORT));
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "client" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "client" });
  });

  it("the headless Service publishes not-ready addresses, selects the pods and names every container port", () => {
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(headless.spec.selector).toEqual(sts.spec.template.metadata.labels);
    const containerPorts = new Map((container.ports as Doc[]).map((p) => [p.name, p.containerPort]));
    for (const p of headless.spec.ports as Doc[]) expect(containerPorts.get(p.name), p.name).toBe(p.port);
    const client = byKind("Service").find((s) => s !== headless)!;
    expect(client.spec.selector).toEqual(sts.spec.template.metadata.labels);
    expect(client.spec.publishNotReadyAddresses).toBeUndefined();
  });

  it("the PodDisruptionBudget lets at most a minority go", () => {
    const pdb = byKind("PodDisruptionBudget")[0]!;
    expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.template.metadata.labels);
    expect(pdb.spec.maxUnavailable).toBeLessThanOrEqual(Math.floor((sts.spec.replicas - 1) / 2));
  });

  it("KEEPER_PEERS names each pod by its stable DNS name with id = ordinal + 1, and the command computes that id", () => {
    const peers = parsePeers(env.KEEPER_PEERS!);
    expect(peers.map((p) => `${p.id}=${p.host}:${p.port}`)).toEqual([0, 1, 2].map((i) => `${i + 1}=${sts.metadata.name}-${i}.${headless.metadata.name}:${env.KEEPER_PEER_PORT}`));
    // Run the container's command in a real sh, with a stand-in `node` that reports what it got.
    writeFileSync(join(tmp, "node"), '#!/bin/sh\necho "id=$KEEPER_SERVER_ID args=$*"\n');
    chmodSync(join(tmp, "node"), 0o755);
    const [shell, flag, script] = container.command as string[];
    for (const ordinal of [0, 1, 2]) {
      const out = execFileSync(shell!, [flag!, script!], { env: { PATH: `${tmp}:/usr/bin:/bin`, HOSTNAME: `${sts.metadata.name}-${ordinal}` }, encoding: "utf8" });
      // The image's own command line (ENTRYPOINT + CMD), so the pod runs what the image runs.
      expect(out.trim()).toBe(`id=${ordinal + 1} args=${[...image.entrypoint.slice(1), ...image.cmd].join(" ")}`);
    }
    expect(image.entrypoint[0]).toBe("node");
  });

  it("peers authenticate: the secret file comes from a Kubernetes Secret mounted read-only where KEEPER_PEER_SECRET_FILE points", () => {
    const file = env.KEEPER_PEER_SECRET_FILE!;
    expect(env.KEEPER_PEER_SECRET, "the secret itself must not sit in the manifest").toBeUndefined();
    const mount = (container.volumeMounts as Doc[]).find((m) => file.startsWith(`${m.mountPath}/`))!;
    expect(mount, `a mount holding ${file}`).toBeDefined();
    expect(mount.readOnly).toBe(true);
    const volume = (pod.volumes as Doc[]).find((v) => v.name === mount.name)!;
    expect(volume.secret.secretName).toBe("keeper-peer-secret");
    expect(file.slice(mount.mountPath.length + 1)).toBe("peer-secret");
    // The server runs as 10001 in group 10001 (fsGroup): the file must be group-readable.
    expect(volume.secret.defaultMode).toBe(0o440);
  });

  it("every variable is a known KEEPER_* setting and each pod's environment is a configuration the server accepts", () => {
    const known = new Set(Object.keys(SERVER_FIELDS).map(envName));
    for (const name of Object.keys(env)) expect(known.has(name), name).toBe(true);
    for (const id of [1, 2, 3]) {
      const invocation = parseServerInvocation(["server"].slice(1), { ...env, KEEPER_SERVER_ID: String(id) }, () => "");
      if (invocation.help) throw new Error("unexpected --help");
      const config = resolveServerConfig(invocation.partial);
      expect(config.serverId).toBe(id);
      expect(config.dataDir).toBe(`/data/node${id}`);
    }
  });
});
