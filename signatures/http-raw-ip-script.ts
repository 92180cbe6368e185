// NETSIG-HTTP-RAW-IP-SCRIPT: plaintext HTTP to a raw IP address by a
// script-like client (curl, wget, python-requests, Python-urllib,
// Go-http-client, ...).
//
// Tools that fetch a second stage or talk to a command server from inside a
// compromised workload often use an address, not a name (nothing to resolve,
// nothing in DNS logs), over plain HTTP, with a command-line or library
// client. Looks at HTTP requests (net_packet_http_request): the Host (the
// request's Request.Host: the Host header, or an absolute URI's host) is an
// IPv4 or IPv6 literal (a request without a Host names no host either), and
// the User-Agent starts with one of SCRIPT_AGENTS (or holds
// WindowsPowerShell). A browser-like agent or a DNS name as Host does not
// fire. Fires once per (client, host, agent) per WINDOW_SECONDS.
//
// Health checks and in-cluster calls by address with such clients are
// expected findings (kubelet probes send "kube-probe/", which is not listed);
// list their hosts in ALLOWED_HOSTS (copy the file and edit the constant).
//
// Memory: at most MAX_TRACKED (client, host, agent) keys, the oldest evicted first.

import type { EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getPacketMetadata, headerValue, hostWithoutPort, httpRequestOf, isIPHost, ReportLimiter } from "netsig/helpers";

/** User-Agent prefixes of command-line tools and HTTP libraries (compared lower-cased) */
const SCRIPT_AGENTS = [
  "curl/",
  "wget/",
  "python-requests/",
  "python-urllib/",
  "python-httpx/",
  "python/",
  "aiohttp/",
  "go-http-client/",
  "libwww-perl/",
  "lwp::simple/",
  "java/",
  "apache-httpclient/",
  "okhttp/",
  "node-fetch/",
  "node",
  "undici",
  "axios/",
  "ruby",
  "pycurl/",
  "powershell/",
  "busybox",
];
/** hosts (without port) whose requests by such clients are expected (edit in a copy of this file) */
const ALLOWED_HOSTS: string[] = [];
const WINDOW_SECONDS = 600;
const MAX_TRACKED = 4096;

function scriptAgent(ua: string): boolean {
  const u = ua.toLowerCase();
  return SCRIPT_AGENTS.some((p) => u.startsWith(p)) || u.includes("windowspowershell");
}

export default class HttpRawIpScript implements Signature {
  private ctx!: SignatureContext;
  private reported = new ReportLimiter(WINDOW_SECONDS, MAX_TRACKED);

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-HTTP-RAW-IP-SCRIPT",
      version: "1.0.0",
      name: "Plaintext HTTP to an IP address by a script",
      eventName: "http_raw_ip_script",
      description: "A command-line or library HTTP client sent a plaintext request to a raw IP address (no DNS name)",
      tags: ["network", "http", "command-and-control", "ingress-tool-transfer"],
      properties: {
        Severity: 2,
        Category: "command-and-control",
        Technique: "Ingress Tool Transfer",
        external_id: "T1105",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_http_request" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.reported.clear();
  }

  onEvent(event: NetEvent): void {
    const req = httpRequestOf(event);
    if (req === undefined) return;
    const host = typeof req.host === "string" ? req.host : "";
    if (host !== "" && !isIPHost(host)) return;
    const ua = headerValue(req.headers, "User-Agent");
    if (ua === undefined || !scriptAgent(ua)) return;
    const meta = getPacketMetadata(event);
    const target = host === "" ? meta.dst_ip : hostWithoutPort(host);
    if (ALLOWED_HOSTS.includes(target)) return;
    if (this.reported.seen(`${meta.src_ip} ${host} ${ua}`, event.timestamp)) return;
    this.ctx.callback({
      sigMetadata: this.getMetadata(),
      event,
      data: {
        host,
        ip: target,
        method: req.method,
        uri_path: req.uri_path,
        user_agent: ua,
        client: meta.src_ip,
        server_port: meta.dst_port,
      },
    });
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.reported.clear();
  }
}
