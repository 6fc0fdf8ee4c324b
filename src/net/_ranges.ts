/**
 * The address ranges the guard denies, as data. Sources: the IANA IPv4/IPv6 special-purpose registries
 * (as compiled by daenney/ssrf and stripe/smokescreen), the cloud metadata endpoints, and the gaps in
 * library defaults listed in docs/NETWORK.md. Each entry names its range so a refusal can say which.
 *
 * `kind` decides what an explicit opt-in may unlock: "loopback" (allowLoopback, a collector on this
 * machine) and "private" (allowPrivate, a collector on the LAN). Every other kind is never allowed.
 */
import ipaddr from "ipaddr.js";

export type RangeKind = "loopback" | "private" | "metadata" | "special";

export interface NamedRange {
  cidr: string;
  name: string;
  kind: RangeKind;
}

type Parsed<T> = { range: NamedRange; net: [T, number] };

/** Cloud instance-metadata endpoints: refused whatever the caller opts into. */
const METADATA: NamedRange[] = [
  { cidr: "169.254.169.254/32", name: "cloud metadata (AWS/GCP/Azure/OCI IMDS)", kind: "metadata" },
  { cidr: "169.254.170.2/32", name: "cloud metadata (AWS ECS task credentials)", kind: "metadata" },
  { cidr: "100.100.100.200/32", name: "cloud metadata (Alibaba)", kind: "metadata" },
  { cidr: "168.63.129.16/32", name: "cloud metadata (Azure WireServer)", kind: "metadata" },
  { cidr: "192.0.0.192/32", name: "cloud metadata (Oracle)", kind: "metadata" },
  { cidr: "fd00:ec2::254/128", name: "cloud metadata (AWS IMDS IPv6)", kind: "metadata" },
];

const V4: NamedRange[] = [
  { cidr: "0.0.0.0/8", name: "unspecified/this network (0.0.0.0/8)", kind: "special" },
  { cidr: "10.0.0.0/8", name: "private (10.0.0.0/8)", kind: "private" },
  { cidr: "100.64.0.0/10", name: "carrier-grade NAT (100.64.0.0/10)", kind: "private" },
  { cidr: "127.0.0.0/8", name: "loopback (127.0.0.0/8)", kind: "loopback" },
  { cidr: "169.254.0.0/16", name: "link-local (169.254.0.0/16)", kind: "special" },
  { cidr: "172.16.0.0/12", name: "private (172.16.0.0/12)", kind: "private" },
  { cidr: "192.0.0.0/24", name: "IETF protocol assignments (192.0.0.0/24)", kind: "special" },
  { cidr: "192.0.2.0/24", name: "documentation TEST-NET-1 (192.0.2.0/24)", kind: "special" },
  { cidr: "192.31.196.0/24", name: "AS112 (192.31.196.0/24)", kind: "special" },
  { cidr: "192.52.193.0/24", name: "AMT (192.52.193.0/24)", kind: "special" },
  { cidr: "192.88.99.0/24", name: "6to4 relay anycast (192.88.99.0/24)", kind: "special" },
  { cidr: "192.168.0.0/16", name: "private (192.168.0.0/16)", kind: "private" },
  { cidr: "192.175.48.0/24", name: "AS112 direct delegation (192.175.48.0/24)", kind: "special" },
  { cidr: "198.18.0.0/15", name: "benchmarking (198.18.0.0/15)", kind: "special" },
  { cidr: "198.51.100.0/24", name: "documentation TEST-NET-2 (198.51.100.0/24)", kind: "special" },
  { cidr: "203.0.113.0/24", name: "documentation TEST-NET-3 (203.0.113.0/24)", kind: "special" },
  { cidr: "224.0.0.0/4", name: "multicast (224.0.0.0/4)", kind: "special" },
  { cidr: "255.255.255.255/32", name: "broadcast (255.255.255.255)", kind: "special" },
  { cidr: "240.0.0.0/4", name: "reserved (240.0.0.0/4)", kind: "special" },
];

/** IPv6 ranges checked before the "outside 2000::/3" rule, so the refusal names the precise range. */
const V6: NamedRange[] = [
  { cidr: "::/128", name: "unspecified (::)", kind: "special" },
  { cidr: "::1/128", name: "loopback (::1)", kind: "loopback" },
  { cidr: "::/96", name: "IPv4-compatible (deprecated, ::/96)", kind: "special" },
  { cidr: "64:ff9b:1::/48", name: "local-use NAT64 (64:ff9b:1::/48)", kind: "special" },
  { cidr: "100::/64", name: "discard-only (100::/64)", kind: "special" },
  { cidr: "fc00::/7", name: "unique-local (fc00::/7)", kind: "private" },
  { cidr: "fe80::/10", name: "link-local (fe80::/10)", kind: "special" },
  { cidr: "fec0::/10", name: "site-local (deprecated, fec0::/10)", kind: "special" },
  { cidr: "ff00::/8", name: "multicast (ff00::/8)", kind: "special" },
  { cidr: "2001::/32", name: "Teredo (2001::/32)", kind: "special" },
  { cidr: "2001:db8::/32", name: "documentation (2001:db8::/32)", kind: "special" },
  { cidr: "2001::/23", name: "IETF protocol assignments (2001::/23)", kind: "special" },
  { cidr: "2002::/16", name: "6to4 (2002::/16)", kind: "special" },
  { cidr: "2620:4f:8000::/48", name: "AS112 (2620:4f:8000::/48)", kind: "special" },
  { cidr: "3fff::/20", name: "documentation (3fff::/20)", kind: "special" },
];

function parseAll<T extends ipaddr.IPv4 | ipaddr.IPv6>(list: NamedRange[], v: 4 | 6): Parsed<T>[] {
  return list
    .filter((r) => (v === 4) === !r.cidr.includes(":"))
    .map((range) => ({ range, net: ipaddr.parseCIDR(range.cidr) as [T, number] }));
}

export const META4 = parseAll<ipaddr.IPv4>(METADATA, 4);
export const META6 = parseAll<ipaddr.IPv6>(METADATA, 6);
export const DENY4 = parseAll<ipaddr.IPv4>(V4, 4);
export const DENY6 = parseAll<ipaddr.IPv6>(V6, 6);
export const GLOBAL_UNICAST6 = ipaddr.parseCIDR("2000::/3") as [ipaddr.IPv6, number];
/** IPv6 prefixes that carry an IPv4 address we unwrap and re-check. */
export const NAT64 = ipaddr.parseCIDR("64:ff9b::/96") as [ipaddr.IPv6, number];
export const SIX_TO_FOUR = ipaddr.parseCIDR("2002::/16") as [ipaddr.IPv6, number];
export const TEREDO = ipaddr.parseCIDR("2001::/32") as [ipaddr.IPv6, number];
export const V4_COMPAT = ipaddr.parseCIDR("::/96") as [ipaddr.IPv6, number];

/** Every denied range, for docs and `tracer net check --json`. */
export const DENIED_RANGES: readonly NamedRange[] = [...METADATA, ...V4, ...V6];
