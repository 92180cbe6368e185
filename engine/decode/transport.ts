// IP protocol number -> transport layer decoder.
import { Layer } from "./packet";

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export function transportLayer(protocol: number): Layer {
  switch (protocol) {
    case IPPROTO_TCP:
      return Layer.TCP;
    case IPPROTO_UDP:
      return Layer.UDP;
    case IPPROTO_ICMP:
      return Layer.ICMPv4;
    case IPPROTO_ICMPV6:
      return Layer.ICMPv6;
    default:
      return Layer.Payload;
  }
}
