// A member of a running ensemble played in the test process: it holds the ensemble's real peer
// secret and runs the real replica core (persisting nothing), so the leader takes it for one of
// its followers. Tests use it as a compromised or buggy follower: it can forward whatever it
// likes on an authenticated link, which is what the leader must not trust.
import pino from "pino";
import type WebSocket from "ws";
import { ReplicatedState, ZabReplica, asServerId, type ServerId } from "@keeper/core";
import { PeerNetwork, peerFrameBytesMax } from "../../packages/server/src/peers/peer-network.ts";
import { canonicalPeers, parsePeers, resolveServerConfig } from "../../packages/server/src/config.ts";
import { zabConfig } from "../../packages/server/src/server.ts";
import { TEST_PEER_AUTH } from "./processes.ts";

export interface InnerMember {
  readonly replica: ZabReplica;
  /** Runs `fn` against the replica, then carries out what it asked (as ZabRunner.input does). */
  input(fn: (r: ZabReplica) => void): void;
  /** Writes raw bytes on the authenticated link to `to` (a frame the real encoder would not make). */
  sendRaw(to: ServerId, frame: Uint8Array): void;
  close(): Promise<void>;
}

/** Starts member `id` of the ensemble `peers` on its own peer port, with the test secret. */
export async function startInnerMember(id: number, peers: string, host: string, port: number): Promise<InnerMember> {
  const members = parsePeers(peers);
  const config = resolveServerConfig({ serverId: id, peers, dataDir: "/nonexistent", peerSecret: TEST_PEER_AUTH.secret.toString() });
  const replica = new ZabReplica(zabConfig(config, members.map((m) => m.id)), { state: new ReplicatedState(), log: [], acceptedEpoch: 0, currentEpoch: 0 }, { applied: () => {}, stateReset: () => {}, roleChanged: () => {} });
  let network: PeerNetwork | undefined;
  const input = (fn: (r: ZabReplica) => void) => {
    replica.now = Date.now();
    fn(replica);
    // "Durable" at once: this member lies about its log, which a quorum of honest ones outweighs.
    for (let b = replica.takePersist(); b; b = replica.takePersist()) replica.persisted(b.seq, b.append.at(-1)?.hdr.zxid);
    for (const { to, msg } of replica.takeMessages()) network?.send(to, msg);
  };
  network = new PeerNetwork(asServerId(id), members, canonicalPeers(members), { up: (p) => input((r) => r.peerUp(p)), down: (p) => input((r) => r.peerDown(p)), message: (from, msg) => input((r) => r.receive(from, msg)) }, pino({ level: "silent" }), {
    auth: TEST_PEER_AUTH,
    silenceMsMax: config.syncLimitTicks * config.tickMs,
    frameBytesMax: peerFrameBytesMax(config.dataBytesMax),
  });
  await network.listen(host, port);
  input((r) => r.start());
  const ticker = setInterval(() => input((r) => r.tick()), config.tickMs);
  return {
    replica,
    input,
    sendRaw: (to, frame) => {
      const link = (network as unknown as { links: Map<ServerId, WebSocket> }).links.get(to);
      if (!link) throw new Error(`no link to server ${to}`);
      link.send(frame);
    },
    close: async () => {
      clearInterval(ticker);
      await network?.close();
    },
  };
}
