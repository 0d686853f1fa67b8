// A TCP relay between one component and the ensemble, so that the demo can crash the
// component the way a power cut would: cut() drops its connections and refuses new ones,
// the server hears nothing more from the session and expires it after the session
// timeout, without the closeSession a clean shutdown would send.

import { connect as netConnect, createServer, type Server, type Socket } from "node:net";

export class CrashLink {
  private readonly sockets = new Set<Socket>();
  private dead = false;
  private nextHost = 0;

  private constructor(
    private readonly server: Server,
    private readonly hosts: Array<{ host: string; port: number }>,
    readonly port: number,
  ) {}

  /** Listens on a free local port and relays every connection to one of `connectString`'s hosts. */
  static async open(connectString: string): Promise<CrashLink> {
    const hosts = connectString
      .split("/")[0]!
      .split(",")
      .map((h) => {
        const cut = h.lastIndexOf(":");
        return { host: h.slice(0, cut), port: Number(h.slice(cut + 1)) };
      });
    let link!: CrashLink;
    const server = createServer((down) => link.relay(down));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    link = new CrashLink(server, hosts, (server.address() as { port: number }).port);
    return link;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.dead = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** Relays to the hosts in turn: a host that refuses sends the client's next try to the next one. */
  private relay(down: Socket): void {
    if (this.dead) return void down.destroy();
    const target = this.hosts[this.nextHost++ % this.hosts.length]!;
    const up = netConnect(target.port, target.host);
    for (const s of [down, up]) this.sockets.add(s);
    down.pipe(up);
    up.pipe(down);
    const end = (): void => {
      down.destroy();
      up.destroy();
      this.sockets.delete(down);
      this.sockets.delete(up);
    };
    down.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
  }
}
