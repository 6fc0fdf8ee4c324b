/**
 * Classify one IP address against the deny set (src/net/_ranges.ts). Decides on parsed addresses only:
 * IPv4 must be the canonical dotted quad (the WHATWG URL parser and the resolver already normalise
 * decimal/octal/hex/short forms), IPv6 any valid form. IPv4-mapped and NAT64 addresses are unwrapped
 * and the embedded IPv4 decides; IPv4-compatible, 6to4 and Teredo are refused, naming what they embed.
 * Metadata endpoints are refused whatever the caller opted into.
 */
import ipaddr from "ipaddr.js";
import {
  DENY4,
  DENY6,
  GLOBAL_UNICAST6,
  META4,
  META6,
  NAT64,
  type RangeKind,
  SIX_TO_FOUR,
  TEREDO,
  V4_COMPAT,
} from "./_ranges.ts";

/** What the caller explicitly opts into (a collector on this machine or on the LAN). */
export interface AddressAllowance {
  loopback?: boolean;
  private?: boolean;
}

export interface AddressVerdict {
  /** the address as given, normalised */
  address: string;
  allowed: boolean;
  /** the range that decided a refusal (or the opted-in range that allowed it) */
  range?: string;
  kind?: RangeKind;
  /** the IPv4 address carried inside an IPv6 one, when there is one */
  embedded?: string;
  /** the literal to connect to (an IPv4-mapped address is dialled as its IPv4) */
  dial: string;
}

const unlocks = (kind: RangeKind, allow: AddressAllowance) =>
  (kind === "loopback" && allow.loopback === true) || (kind === "private" && allow.private === true);

function classify4(a: ipaddr.IPv4, allow: AddressAllowance): AddressVerdict {
  const address = a.toString();
  const base = { address, dial: address };
  for (const m of META4)
    if (a.match(m.net)) return { ...base, allowed: false, range: m.range.name, kind: "metadata" };
  for (const d of DENY4)
    if (a.match(d.net))
      return { ...base, allowed: unlocks(d.range.kind, allow), range: d.range.name, kind: d.range.kind };
  const lib = a.range();
  if (lib !== "unicast")
    return { ...base, allowed: false, range: `special-purpose (${lib})`, kind: "special" };
  return { ...base, allowed: true };
}

const v4From = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);

/** The IPv4 address an IPv6 tunnelling/translation form carries, if any. */
function embeddedV4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = a.parts;
  if (a.match(NAT64)) return v4From(p[6]!, p[7]!);
  if (a.match(V4_COMPAT) && p[6] !== 0) return v4From(p[6]!, p[7]!); // not :: or ::1
  if (a.match(SIX_TO_FOUR)) return v4From(p[1]!, p[2]!);
  if (a.match(TEREDO)) return v4From(~p[6]! & 0xffff, ~p[7]! & 0xffff); // client address, obfuscated
  return undefined;
}

function classify6(a: ipaddr.IPv6, allow: AddressAllowance): AddressVerdict {
  const address = a.toString();
  const base = { address, dial: address };
  for (const m of META6)
    if (a.match(m.net)) return { ...base, allowed: false, range: m.range.name, kind: "metadata" };
  if (a.zoneId) return { ...base, allowed: false, range: "scoped address (zone id)", kind: "special" };
  if (a.isIPv4MappedAddress()) {
    const v4 = classify4(a.toIPv4Address(), allow);
    const range = v4.range && `IPv4-mapped ${v4.range}`;
    return { ...v4, address, range, embedded: v4.address };
  }
  const inner = embeddedV4(a);
  if (inner && a.match(NAT64)) {
    // Well-known NAT64 prefix: the IPv4 behind it decides, and only a public one passes.
    const v4 = classify4(inner, {});
    if (!v4.allowed)
      return {
        ...base,
        allowed: false,
        range: `NAT64 (64:ff9b::/96) of ${v4.address}: ${v4.range}`,
        kind: v4.kind,
        embedded: v4.address,
      };
    return { ...base, allowed: true, embedded: v4.address };
  }
  for (const d of DENY6) {
    if (!a.match(d.net)) continue;
    let range = d.range.name;
    if (inner) {
      const v4 = classify4(inner, {});
      range += ` carrying ${v4.address}${v4.range ? ` (${v4.range})` : ""}`;
    }
    const allowed = unlocks(d.range.kind, allow);
    return { ...base, allowed, range, kind: d.range.kind, ...(inner ? { embedded: inner.toString() } : {}) };
  }
  if (!a.match(GLOBAL_UNICAST6))
    return { ...base, allowed: false, range: "not global unicast (outside 2000::/3)", kind: "special" };
  const lib = a.range();
  if (lib !== "unicast")
    return { ...base, allowed: false, range: `special-purpose (${lib})`, kind: "special" };
  return { ...base, allowed: true };
}

/** Classify an address string (IPv6 may be bracketed). Anything that is not a strict IP is refused. */
export function classifyAddress(raw: string, allow: AddressAllowance = {}): AddressVerdict {
  const s = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return classify4(ipaddr.IPv4.parse(s), allow);
  if (s.includes(":") && ipaddr.IPv6.isValid(s)) return classify6(ipaddr.IPv6.parse(s), allow);
  return { address: raw, dial: raw, allowed: false, range: "not a canonical IP address", kind: "special" };
}

export const isIpLiteral = (host: string) => {
  const s = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return ipaddr.IPv4.isValidFourPartDecimal(s) || (s.includes(":") && ipaddr.IPv6.isValid(s));
};
