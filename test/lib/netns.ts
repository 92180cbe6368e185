// A network namespace for a test's real traffic: its own lo (and addresses),
// servers and clients started in it, tcpdump recording it, all removed at the
// end. Tests run as root.

import { type ChildProcess, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";

export class Netns {
  private readonly children: ChildProcess[] = [];

  constructor(readonly name: string) {
    spawnSync("ip", ["netns", "del", name]);
    sh("ip", "netns", "add", name);
    sh("ip", "-n", name, "link", "set", "lo", "up");
  }

  /** add an address to the namespace's lo (IPv6 without duplicate address detection) */
  addAddress(cidr: string): void {
    sh("ip", "-n", this.name, "addr", "add", cidr, "dev", "lo", ...(cidr.includes(":") ? ["nodad"] : []));
  }

  /** run a command in the namespace to its end */
  run(...args: string[]): SpawnSyncReturns<string> {
    return spawnSync("ip", ["netns", "exec", this.name, ...args], { encoding: "utf8", timeout: 20_000 });
  }

  /** start a command in the namespace; with `ready`, wait until its output matches */
  start(args: string[], ready?: RegExp): Promise<ChildProcess> {
    const child = spawn("ip", ["netns", "exec", this.name, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.children.push(child);
    if (!ready) return Promise.resolve(child);
    return new Promise((resolve, reject) => {
      let text = "";
      const timer = setTimeout(() => reject(new Error(`${args[0]} did not start: ${text}`)), 15_000);
      const on = (d: Buffer) => {
        text += d.toString();
        if (ready.test(text)) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout!.on("data", on);
      child.stderr!.on("data", on);
      child.on("exit", () => reject(new Error(`${args[0]} exited: ${text}`)));
    });
  }

  /** tcpdump on the namespace's lo into `file`; stop() ends it (SIGINT) once the file is written */
  async tcpdump(file: string): Promise<{ stop(): Promise<void> }> {
    const child = await this.start(["tcpdump", "-i", "lo", "-w", file, "-U", "--immediate-mode", "-n", "-s", "0"], /listening on/);
    return {
      stop: async () => {
        await sleep(300);
        child.kill("SIGINT");
        await until(() => child.exitCode !== null, 5000);
      },
    };
  }

  /** dnsmasq answering on 127.0.0.1:53 from its own records only (`records`: --host-record=, --cname= ...) */
  dnsmasq(records: string[]): Promise<ChildProcess> {
    const args = ["/usr/sbin/dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file=", "--user=root"];
    args.push("--listen-address=127.0.0.1", "--bind-interfaces", "--local-ttl=300", "--log-facility=-", ...records);
    return this.start(args, /started/);
  }

  close(): void {
    for (const c of this.children) if (c.exitCode === null) c.kill("SIGKILL");
    spawnSync("ip", ["netns", "del", this.name]);
  }
}

export function sh(...args: string[]): string {
  const r = spawnSync(args[0], args.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(100);
  }
  return false;
}

/** can this process make namespaces and run the tools? */
export function netnsUsable(...tools: string[]): boolean {
  return process.getuid?.() === 0 && tools.every((t) => spawnSync(t, ["--version"]).error === undefined);
}
