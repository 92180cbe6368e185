// A real local HTTP receiver for the spool and webhook targets: answers every
// request with the bytes it is given (raw, over TCP), or 200 by default, and
// keeps what it received.
import { createServer, type Server, type Socket } from "node:net";

export class RawReceiver {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  /** the response sent for every request; `end`: close the connection after it */
  answer: Buffer = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  end = false;
  bodies: string[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => undefined);
      let buf = Buffer.alloc(0);
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const h = buf.indexOf("\r\n\r\n");
          if (h < 0) return;
          const m = /content-length:\s*(\d+)/i.exec(buf.toString("latin1", 0, h));
          const len = m ? Number(m[1]) : 0;
          if (buf.length < h + 4 + len) return;
          this.bodies.push(buf.toString("utf8", h + 4, h + 4 + len));
          buf = buf.subarray(h + 4 + len);
          s.write(this.answer);
          if (this.end) {
            s.end();
            return;
          }
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.port = (this.server!.address() as { port: number }).port;
  }

  /** forget the connections of the last input */
  reset(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.bodies = [];
  }

  async stop(): Promise<void> {
    this.reset();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}
