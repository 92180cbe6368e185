// Ports whose payload is decoded as DNS: 53 (DNS), 5353 (mDNS), 5355 (LLMNR).
export function isDnsPort(src: number, dst: number): boolean {
  return src === 53 || dst === 53 || src === 5353 || dst === 5353 || src === 5355 || dst === 5355;
}
