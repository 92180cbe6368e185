// --output table: one readable line per event.
//   TIME(UTC)                       EVENT                    SOURCE -> DESTINATION   DETAILS

import type {
  Arg,
  PktMeta,
  ProtoDNS,
  ProtoICMP,
  ProtoICMPv6,
  ProtoIPv4,
  ProtoIPv6,
  ProtoTCP,
  ProtoUDP,
  TraceeEvent,
  DnsQueryData,
  DnsResponseData,
} from "../types/events";

function isoTime(tsSec: number, tsNsec: number): string {
  const d = new Date(tsSec * 1000);
  return d.toISOString().slice(0, 19) + "." + String(tsNsec).padStart(9, "0") + "Z";
}

function pad(s: string, n: number): string {
  return s.length >= n ? s + " " : s + " ".repeat(n - s.length);
}

function arg<T>(args: Arg[], name: string): T | undefined {
  for (const a of args) if (a.name === name) return a.value as T;
  return undefined;
}

function endpoint(ip: string, port?: number): string {
  if (port === undefined) return ip;
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function tcpFlags(t: ProtoTCP): string {
  const f: string[] = [];
  if (t.SYN) f.push("SYN");
  if (t.ACK) f.push("ACK");
  if (t.FIN) f.push("FIN");
  if (t.RST) f.push("RST");
  if (t.PSH) f.push("PSH");
  if (t.URG) f.push("URG");
  if (t.ECE) f.push("ECE");
  if (t.CWR) f.push("CWR");
  if (t.NS) f.push("NS");
  return f.join(",");
}

function questions(qs: { name: string; type: string }[]): string {
  return qs.map((q) => `${q.type} ${q.name || "."}`).join(" ");
}

/** source, destination and details of one event */
export function describe(ev: TraceeEvent): [string, string, string] {
  const a = ev.args;
  switch (ev.eventName) {
    case "net_packet_ipv4": {
      const v = arg<ProtoIPv4>(a, "proto_ipv4")!;
      return [
        v.srcIP,
        v.dstIP,
        `${v.protocol} len=${v.length} ttl=${v.TTL} id=${v.id}${v.flags & 1 || v.fragOffset ? ` frag=${v.fragOffset * 8}${v.flags & 1 ? "+" : ""}` : ""}`,
      ];
    }
    case "net_packet_ipv6": {
      const v = arg<ProtoIPv6>(a, "proto_ipv6")!;
      return [v.srcIP, v.dstIP, `${v.nextHeader} len=${v.length} hlim=${v.hopLimit} flow=${v.flowLabel}`];
    }
    case "net_packet_tcp": {
      const v = arg<ProtoTCP>(a, "proto_tcp")!;
      return [
        endpoint(arg<string>(a, "src")!, v.srcPort),
        endpoint(arg<string>(a, "dst")!, v.dstPort),
        `[${tcpFlags(v)}] seq=${v.seq} ack=${v.ack} win=${v.window}`,
      ];
    }
    case "net_packet_udp": {
      const v = arg<ProtoUDP>(a, "proto_udp")!;
      return [endpoint(arg<string>(a, "src")!, v.srcPort), endpoint(arg<string>(a, "dst")!, v.dstPort), `len=${v.length}`];
    }
    case "net_packet_icmp": {
      const v = arg<ProtoICMP>(a, "proto_icmp")!;
      return [arg<string>(a, "src")!, arg<string>(a, "dst")!, `${v.typeCode} id=${v.id} seq=${v.seq}`];
    }
    case "net_packet_icmpv6": {
      const v = arg<ProtoICMPv6>(a, "proto_icmpv6")!;
      return [arg<string>(a, "src")!, arg<string>(a, "dst")!, v.typeCode];
    }
    case "net_packet_dns": {
      const v = arg<ProtoDNS>(a, "proto_dns")!;
      const head = `${v.QR ? "response" : "query"} id=${v.ID} ${v.opCode}${v.QR ? ` ${v.responseCode}` : ""} ${questions(v.questions)}`;
      const ans = v.answers.map((r) =>
        `${r.type} ${r.IP || r.CNAME || r.NS || r.PTR || r.MX.name || r.SRV.name || r.SOA.MName || (r.TXTs ?? []).join("") || ""}`.trim(),
      );
      return [
        endpoint(arg<string>(a, "src")!, arg<number>(a, "src_port")),
        endpoint(arg<string>(a, "dst")!, arg<number>(a, "dst_port")),
        head + (ans.length ? " -> " + ans.join(", ") : ""),
      ];
    }
    case "net_packet_dns_request": {
      const m = arg<PktMeta>(a, "metadata")!;
      const qs = arg<DnsQueryData[]>(a, "dns_questions") ?? [];
      return [endpoint(m.src_ip, m.src_port), endpoint(m.dst_ip, m.dst_port), qs.map((q) => `${q.query_type} ${q.query}`).join(" ")];
    }
    case "net_packet_dns_response": {
      const m = arg<PktMeta>(a, "metadata")!;
      const rs = arg<DnsResponseData[]>(a, "dns_response") ?? [];
      return [
        endpoint(m.src_ip, m.src_port),
        endpoint(m.dst_ip, m.dst_port),
        rs
          .map(
            (r) =>
              `${r.query_data.query_type} ${r.query_data.query} -> ${(r.dns_answer ?? []).map((x) => `${x.answer_type} ${x.answer}`).join(", ") || "(no answer)"}`,
          )
          .join("; "),
      ];
    }
    default:
      return ["", "", ""];
  }
}

export const TABLE_HEADER = pad("TIME(UTC)", 31) + pad("EVENT", 24) + pad("SOURCE", 24) + pad("DESTINATION", 24) + "DETAILS";

export function tableLine(ev: TraceeEvent, tsSec: number, tsNsec: number): string {
  const [src, dst, details] = describe(ev);
  return pad(isoTime(tsSec, tsNsec), 31) + pad(ev.eventName, 24) + pad(src, 24) + pad(dst, 24) + details;
}

/** a finding as a table row: its name, the addresses of the event that triggered it, and its data */
export function findingTableLine(name: string, trigger: TraceeEvent | null, tsSec: number, tsNsec: number, text: string): string {
  let src = "";
  let dst = "";
  try {
    if (trigger && Array.isArray(trigger.args)) [src, dst] = describe(trigger);
  } catch {
    /* an event shape the table does not know (a signature may report anything) */
  }
  return pad(isoTime(tsSec, tsNsec), 31) + pad(name, 24) + pad(src, 24) + pad(dst, 24) + text;
}
