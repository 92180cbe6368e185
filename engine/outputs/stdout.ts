// Output to a file descriptor (standard output by default) through one 1 MiB
// byte buffer, written with synchronous writes: nothing queues up in memory
// however fast events come, and the order is the order of the events. A
// closed pipe (`netsig ... | head`) ends the output quietly. `tee` gets the
// same bytes (the --output-file of JSON events: encoded once, written twice).

import { writeSync } from "node:fs";
import { ByteWriter } from "../events/jsonbytes";

export class FdOutput {
  closed = false;
  readonly writer: ByteWriter;

  constructor(
    private readonly fd = 1,
    private readonly tee: ((bytes: Buffer) => void) | null = null,
  ) {
    this.writer = new ByteWriter((bytes) => this.drain(bytes));
  }

  private drain(bytes: Buffer): void {
    if (this.tee !== null) this.tee(bytes);
    let off = 0;
    while (off < bytes.length && !this.closed) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue; // a non-blocking pipe that is full: retry
        if (code === "EPIPE") {
          this.closed = true;
          return;
        }
        throw e;
      }
    }
  }

  /** a line of text (a newline is added) */
  line(s: string): void {
    const w = this.writer;
    w.room(s.length * 3 + 1);
    w.pos += w.buf.write(s, w.pos, "utf8");
    w.buf[w.pos++] = 10;
  }

  flush(): void {
    this.writer.flush();
  }
}
