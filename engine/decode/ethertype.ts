// EtherType -> next layer, shared by Ethernet, 802.1Q/802.1ad tags and Linux cooked captures.
import { Layer, Malformed, type Packet } from "./packet";

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100; // 802.1Q C-tag
export const ETHERTYPE_QINQ = 0x88a8; // 802.1ad S-tag
export const ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard stacked tag
const MAX_VLAN_TAGS = 8;

/**
 * Name the layer that an EtherType announces. `payloadOff` is the first byte
 * after the EtherType field. VLAN tags (TCI + inner EtherType) are skipped,
 * stacked or not. For IP, p.ipOff is set to where the IP header starts.
 */
export function decodeEtherType(p: Packet, type: number, payloadOff: number): Layer {
  const buf = p.buf;
  let off = payloadOff;
  for (let tags = 0; ; tags++) {
    if (type === ETHERTYPE_IPV4) {
      p.ipOff = off;
      return Layer.IPv4;
    }
    if (type === ETHERTYPE_IPV6) {
      p.ipOff = off;
      return Layer.IPv6;
    }
    if (type !== ETHERTYPE_VLAN && type !== ETHERTYPE_QINQ && type !== ETHERTYPE_QINQ_OLD) {
      return Layer.Unsupported; // ARP, LLC (802.3 length), LLDP, ...
    }
    if (tags >= MAX_VLAN_TAGS) return p.markMalformed(Malformed.BadHeader, "more than 8 stacked VLAN tags");
    if (off + 4 > p.end) return p.markMalformed(Malformed.Truncated, "VLAN tag truncated");
    type = (buf[off + 2] << 8) | buf[off + 3]; // TCI (priority, DEI, VLAN id), then the inner EtherType
    off += 4;
  }
}
