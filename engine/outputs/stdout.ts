// Line output to standard output, batched: lines are joined and written in
// blocks of ~64 KiB (process.stdout is synchronous for files and pipes on
// Linux, so a write is done when it returns). A closed pipe (`| head`) ends
// the output quietly instead of crashing.

export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout, private readonly blockSize = 64 * 1024) {
    out.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") { this.closed = true; return; }
      throw e;
    });
  }

  line(s: string): void {
    if (this.closed) return;
    this.parts.push(s);
    this.size += s.length + 1;
    if (this.size >= this.blockSize) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0 || this.closed) return;
    const text = this.parts.join("\n") + "\n";
    this.parts = [];
    this.size = 0;
    this.out.write(text);
  }
}
