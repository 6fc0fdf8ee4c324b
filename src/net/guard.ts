/**
 * The SSRF policy for one URL: parse with the WHATWG URL parser, check scheme, userinfo and the
 * optional host allowlist, resolve every address of the host, classify each (src/net/address.ts) and
 * refuse if any is denied. The result names the one address the client will dial (pinning), so a
 * second DNS answer can never change where the request goes.
 */
import { type AddressVerdict, classifyAddress, isIpLiteral } from "./address.ts";
import { NetError, NetRefusal, redactUrl } from "./errors.ts";

/** Every address a host name resolves to. Injected in tests; the default asks the system resolver. */
export type Resolver = (host: string) => Promise<string[]>;

export interface NetPolicy {
  /** plain http:// — only for an endpoint the user explicitly configured as local/insecure */
  allowHttp?: boolean;
  /** loopback addresses (a collector on this machine) — an explicit opt-in, never implied */
  allowLoopback?: boolean;
  /** private, unique-local and CGNAT addresses (a collector on the LAN) — explicit opt-in */
  allowPrivate?: boolean;
  /** when set, only these host names (e.g. the release host for the installer) */
  allowHosts?: readonly string[];
  resolver?: Resolver;
}

export interface CheckedUrl {
  url: URL;
  /** the host name as the server must see it (Host header, TLS server name), without brackets */
  host: string;
  /** true when the URL names an IP address, so there is no name to send as SNI */
  literal: boolean;
  addresses: AddressVerdict[];
  /** the checked address the request connects to */
  dial: string;
}

export const systemResolver: Resolver = async (host) =>
  (await Bun.dns.lookup(host, { family: 0 })).map((r) => r.address);

const bare = (h: string) => (h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h);
const stripDot = (h: string) => (h.endsWith(".") ? h.slice(0, -1) : h).toLowerCase();

export function parseUrl(input: string | URL, policy: NetPolicy = {}): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new NetRefusal(
      "bad-url",
      `refused "${String(input).slice(0, 200)}": not a valid URL`,
      String(input),
    );
  }
  const shown = redactUrl(url);
  if (url.protocol === "http:" && !policy.allowHttp)
    throw new NetRefusal(
      "scheme",
      `refused ${shown}: plain http is only allowed for an endpoint configured as insecure`,
      shown,
      {},
      "use https; for a collector you run yourself, configure it as insecure (--insecure, --otlp-insecure)",
    );
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new NetRefusal("scheme", `refused ${shown}: scheme ${url.protocol} is not allowed`, shown);
  if (url.username || url.password)
    throw new NetRefusal("userinfo", `refused ${shown}: URLs with user:password@ are not allowed`, shown, {
      host: url.hostname,
    });
  if (!url.hostname) throw new NetRefusal("bad-url", `refused ${shown}: no host`, shown);
  if (policy.allowHosts && !policy.allowHosts.map(stripDot).includes(stripDot(bare(url.hostname))))
    throw new NetRefusal(
      "host-not-allowed",
      `refused ${shown}: host ${url.hostname} is not one of ${policy.allowHosts.join(", ")}`,
      shown,
      { host: url.hostname },
    );
  return url;
}

/** Evaluate the whole policy for a URL, resolution included; no request is sent. */
export async function checkUrl(input: string | URL, policy: NetPolicy = {}): Promise<CheckedUrl> {
  const url = parseUrl(input, policy);
  const shown = redactUrl(url);
  const host = bare(url.hostname);
  const literal = isIpLiteral(host);
  let raw: string[];
  if (literal) raw = [host];
  else {
    try {
      raw = await (policy.resolver ?? systemResolver)(stripDot(host));
    } catch (e) {
      throw new NetError("resolve", `cannot resolve ${host}: ${(e as Error).message}`, shown, { cause: e });
    }
    if (raw.length === 0) throw new NetError("resolve", `cannot resolve ${host}: no addresses`, shown);
  }
  const allow = { loopback: policy.allowLoopback, private: policy.allowPrivate };
  const addresses = raw.map((a) => classifyAddress(a, allow));
  const denied = addresses.find((v) => !v.allowed);
  if (denied) {
    const via = literal ? "" : `${host} resolves to `;
    throw new NetRefusal(
      "address",
      `refused ${shown}: ${via}${denied.address}, which is ${denied.range}`,
      shown,
      { host, address: denied.address, range: denied.range },
      denied.kind === "loopback" || denied.kind === "private"
        ? "for a collector you run yourself, configure it as insecure (--insecure, --otlp-insecure)"
        : undefined,
    );
  }
  return { url, host, literal, addresses, dial: addresses[0]!.dial };
}
