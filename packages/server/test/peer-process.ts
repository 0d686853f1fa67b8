// One PeerNetwork in a process of its own, for tests that pause it (SIGSTOP) or pause the test
// process while it keeps running. Arguments: id, peer spec, silence window in ms. Prints one
// JSON line per link event ({ "event": "listening" | "up" | "down", "peer"?: id }) and exits
// when its stdin closes, so it never outlives the test that started it.
import pino from "pino";
import { asServerId } from "@keeper/core";
import { PeerNetwork } from "../src/peers/peer-network.ts";
import { canonicalPeers, parsePeers } from "../src/config.ts";
import { TEST_PEER_AUTH } from "../../../test/support/processes.ts";

const [id, spec, silenceMs] = process.argv.slice(2);
const members = parsePeers(spec!);
const say = (event: string, peer?: number) => process.stdout.write(JSON.stringify({ event, ...(peer !== undefined ? { peer } : {}) }) + "\n");
const net = new PeerNetwork(asServerId(Number(id)), members, canonicalPeers(members), { up: (p) => say("up", p), down: (p) => say("down", p), message: () => {} }, pino({ level: "silent" }), { auth: TEST_PEER_AUTH, silenceMsMax: Number(silenceMs) });
await net.listen("127.0.0.1", members.find((m) => m.id === Number(id))!.port);
say("listening");
process.stdin.resume();
process.stdin.on("end", () => void net.close().then(() => process.exit(0)));
