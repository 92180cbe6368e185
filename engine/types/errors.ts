// Errors every stage may raise for the user to fix: one line, no stack trace
// (main.ts prints the message and exits 2).

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
