// Zeek-style Sigma rules on recorded traffic, as a user runs them: SigmaHQ's
// zeek_http rules (vendored unchanged in test/sigmahq) and rules for Zeek's
// ssl and conn logs, through `netsig replay --rules`, over curl, openssl and
// a node HTTP server talking in a network namespace this test creates (a
// public-looking address on its lo, 198.51.100.7: SigmaHQ's WebDAV rule
// leaves private and loopback servers out). Each rule must fire on exactly
// the messages it describes.

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Netns, netnsUsable } from "./lib/netns";
import { netsig } from "./lib/run";
import { makeCert } from "./lib/tlslab";
import { NODE_SERVER } from "./lib/httplab";

const SIGMAHQ = join(__dirname, "..", "..", "test", "sigmahq");
const WEBDAV_PUT = join(SIGMAHQ, "rules", "network", "zeek", "zeek_http_webdav_put_request.yml");
const KATZ = join(SIGMAHQ, "rules-emerging-threats", "2025", "Malware", "Katz-Stealer", "zeek_http_katz_stealer_susp_useragent.yml");

const PUBLIC = "198.51.100.7";
const skip = netnsUsable("curl", "openssl", "tcpdump") ? false : "needs root, curl, openssl and tcpdump";

const work = mkdtempSync(join(tmpdir(), "netsig-zeek-traffic-"));
after(() => rmSync(work, { recursive: true, force: true }));

const ssl = (id: string, detection: string) =>
  `title: ${id}\nid: ${id}\nlogsource: {product: zeek, service: ssl}\ndetection:\n${detection}\nlevel: high\n`;
const conn = (id: string, detection: string) =>
  `title: ${id}\nid: ${id}\nlogsource: {product: zeek, service: conn}\ndetection:\n${detection}\nlevel: medium\n`;

interface Finding {
  eventName: string;
  args: { name: string; value: unknown }[];
}
/** a rule finding's fields (its args but the triggering event) */
const data = (f: Finding): Record<string, any> =>
  Object.fromEntries(f.args.filter((a) => a.name !== "triggeredBy").map((a) => [a.name, a.value]));
const WEBDAV_ID = "705072a5-bb6f-4ced-95b6-ecfa6602090b";
const KATZ_ID = "834c6d2f-5e98-4b2a-b453-0c4f234afedd";

describe("Zeek's http, ssl and conn logs on recorded traffic", { skip }, () => {
  let capture = "";
  before(async () => {
    const ns = new Netns("nszeek16");
    try {
      ns.addAddress(`${PUBLIC}/32`);
      const cert = await makeCert(work, "shop.example.test");
      await ns.start(["env", "PORT=8080", `HOST=${PUBLIC}`, process.execPath, "-e", NODE_SERVER], /listening/);
      await ns.start(
        ["openssl", "s_server", "-accept", `${PUBLIC}:8443`, "-cert", cert.cert, "-key", cert.key, "-www", "-alpn", "http/1.1"],
        /ACCEPT/,
      );
      capture = join(work, "zeek.pcap");
      const dump = await ns.tcpdump(capture);
      const curl = (...a: string[]) => {
        const r = ns.run("curl", "-sS", "-o", "/dev/null", "--max-time", "5", ...a);
        assert.equal(r.status, 0, r.stderr);
      };
      // a WebDAV client PUTs a file to the public server (fires), GETs it (does not), and PUTs to loopback (filtered)
      curl("-X", "PUT", "-A", "Microsoft-WebDAV-MiniRedir/10.0.19045", "--data-binary", "secret", `http://${PUBLIC}:8080/share/loot.zip`);
      curl("-A", "Microsoft-WebDAV-MiniRedir/10.0.19045", `http://${PUBLIC}:8080/share/loot.zip`);
      curl("-X", "PUT", "-A", "curl/8.5.0", "--data-binary", "x", `http://${PUBLIC}:8080/upload`);
      // Katz Stealer's user agent (fires), a browser's (does not)
      curl("-A", "katz-ontop/2.0", `http://${PUBLIC}:8080/gate.php`);
      curl("-A", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", `http://${PUBLIC}:8080/`);
      // TLS: by name (SNI) and with TLS 1.2 pinned
      curl("-k", "--resolve", `shop.example.test:8443:${PUBLIC}`, "https://shop.example.test:8443/");
      curl("-k", "--tlsv1.2", "--tls-max", "1.2", "--resolve", `other.example.test:8443:${PUBLIC}`, "https://other.example.test:8443/");
      await dump.stop();
    } finally {
      ns.close();
    }
  });

  const replay = (rules: Record<string, string>, copies: string[] = []) => {
    const dir = mkdtempSync(join(work, "rules-"));
    for (const [n, t] of Object.entries(rules)) writeFileSync(join(dir, n), t);
    for (const c of copies) copyFileSync(c, join(dir, c.split("/").pop()!));
    const r = netsig(["replay", capture, "--rules", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /rules: \d+ active, 0 skipped; \d+ findings/, r.stderr);
    assert.doesNotMatch(r.stderr, /not supported|sees none/i, r.stderr);
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Finding);
  };

  test("SigmaHQ's zeek_http WebDAV PUT and Katz Stealer rules, unchanged, fire on exactly the requests they describe", () => {
    // (the vendored files are byte for byte SigmaHQ's: test/zeek.test.ts checks them against the manifest)
    assert.match(readFileSync(WEBDAV_PUT, "utf8"), /user_agent\|contains: 'WebDAV'/);
    const found = replay({}, [WEBDAV_PUT, KATZ]);
    // (a rule's finding is named by the rule's id)
    assert.deepEqual(
      found.map((f) => f.eventName).sort(),
      [WEBDAV_ID, KATZ_ID].sort(),
      JSON.stringify(found.map((f) => [f.eventName, data(f)])),
    );
    const put = data(found.find((f) => f.eventName === WEBDAV_ID)!);
    assert.equal(put.method, "PUT");
    assert.equal(put.uri, "/share/loot.zip");
    assert.equal(put["id.resp_h"], PUBLIC);
    assert.match(String(put.user_agent), /WebDAV/);
    const katz = data(found.find((f) => f.eventName === KATZ_ID)!);
    assert.equal(katz.user_agent, "katz-ontop/2.0");
    assert.equal(katz.uri, "/gate.php");
  });

  test("an ssl rule sees the client hello's server_name and ja3, and the server hello's version", () => {
    const found = replay({
      "sni.yml": ssl(
        "sni-shop",
        "  s: {server_name|endswith: .example.test, ja3|re: '^[0-9a-f]{32}$'}\n  condition: s\nfields: [server_name, ja3, id.resp_p]",
      ),
      "tls12.yml": ssl("tls12", "  s: {version: TLSv12}\n  condition: s\nfields: [version, cipher]"),
    });
    const sni = found.filter((f) => f.eventName === "sni-shop").map((f) => data(f).server_name);
    assert.deepEqual(sni.sort(), ["other.example.test", "shop.example.test"]);
    // one server chose TLS 1.2: the curl pinned to it
    const v12 = found.filter((f) => f.eventName === "tls12");
    assert.equal(v12.length, 1, JSON.stringify(v12.map(data)));
    assert.match(String(data(v12[0]).cipher), /^TLS_/);
  });

  test("a conn rule sees each TCP connection once, with Zeek's endpoint names", () => {
    const found = replay({
      "conn.yml": conn("to-8443", `  s: {id.resp_h: '${PUBLIC}', id.resp_p: 8443}\n  condition: s\nfields: [id.orig_h, id.resp_p, proto]`),
    });
    assert.equal(found.length, 2, JSON.stringify(found.map(data)));
    for (const f of found) {
      assert.equal(data(f)["id.resp_p"], 8443);
      assert.equal(data(f).proto, "tcp");
    }
  });
});
