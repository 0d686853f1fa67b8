// "host1:port1,host2:port2/optional/chroot" -> host list and chroot, as ZooKeeper's
// ConnectStringParser reads it, plus the shuffled round-robin over the hosts.

import { Code, KeeperError, validatePath } from "@keeper/protocol";
import { clientDefaults } from "./constants.ts";

export interface HostAddress {
  host: string;
  port: number;
}

export interface ConnectString {
  hosts: HostAddress[];
  /** "" when there is no chroot; otherwise a valid path other than "/". */
  chroot: string;
}

export function parseConnectString(connectString: string): ConnectString {
  const slash = connectString.indexOf("/");
  const hostPart = slash < 0 ? connectString : connectString.slice(0, slash);
  let chroot = slash < 0 ? "" : connectString.slice(slash);
  if (chroot !== "") {
    validatePath(chroot);
    if (chroot === "/") chroot = "";
  }
  const hosts = hostPart
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "")
    .map(parseHost);
  if (hosts.length === 0) throw new KeeperError(Code.BADARGUMENTS, `connect string names no host: "${connectString}"`);
  return { hosts, chroot };
}

function parseHost(entry: string): HostAddress {
  // A bracketed IPv6 literal carries colons of its own: "[::1]:8181".
  const close = entry.startsWith("[") ? entry.indexOf("]") : -1;
  const colon = entry.lastIndexOf(":");
  const hasPort = colon > close && (close >= 0 || entry.indexOf(":") === colon);
  const host = hasPort ? entry.slice(0, colon) : entry;
  if (host === "" || host === "[]") throw new KeeperError(Code.BADARGUMENTS, `empty host in connect string entry "${entry}"`);
  if (!hasPort) return { host, port: clientDefaults.port };
  const portText = entry.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new KeeperError(Code.BADARGUMENTS, `bad port in connect string entry "${entry}"`);
  return { host, port };
}

/** The WebSocket URL of a server; `secure`: over TLS (wss://), for servers given a client certificate. */
export function hostUrl(address: HostAddress, secure = false): string {
  const host = address.host.includes(":") && !address.host.startsWith("[") ? `[${address.host}]` : address.host;
  return `${secure ? "wss" : "ws"}://${host}:${address.port}/`;
}

/** Fisher-Yates with an injected random, so tests can pin the order. */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Round-robin over the shuffled host URLs; `roundDone` tells the caller a full pass ended. */
export class HostRing {
  private next = 0;
  constructor(readonly urls: readonly string[]) {
    if (urls.length === 0) throw new KeeperError(Code.BADARGUMENTS, "no hosts");
  }

  /** The next URL and whether it completes a pass over the whole list. */
  take(): { url: string; roundDone: boolean } {
    const url = this.urls[this.next]!;
    this.next = (this.next + 1) % this.urls.length;
    return { url, roundDone: this.next === 0 };
  }
}
