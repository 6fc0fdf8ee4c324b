/**
 * `tracer net check`: evaluate the whole policy for a URL (resolution included) without sending a
 * request, and describe the verdict in a stable, JSON-friendly shape (docs/NETWORK.md).
 */
import type { AddressVerdict } from "./address.ts";
import { NetError, NetRefusal } from "./errors.ts";
import { checkUrl, type NetPolicy } from "./guard.ts";

export interface CheckReport {
  url: string;
  allowed: boolean;
  host?: string;
  /** the address a request would connect to */
  dial?: string;
  addresses: Pick<AddressVerdict, "address" | "allowed" | "range" | "embedded">[];
  refusal?: {
    code: string;
    reason: string;
    message: string;
    address?: string;
    range?: string;
    hint?: string;
  };
  error?: { code: string; message: string };
}

const RESOLVE_TIMEOUT_MS = 5000;

/** Never throws for a refusal: the report says what was refused and why. */
export async function explainUrl(url: string, policy: NetPolicy = {}): Promise<CheckReport> {
  let timer: Timer | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NetError("resolve", `resolving took longer than ${RESOLVE_TIMEOUT_MS} ms`, url)),
      RESOLVE_TIMEOUT_MS,
    );
  });
  try {
    const c = await Promise.race([checkUrl(url, policy), deadline]);
    return {
      url: c.url.href,
      allowed: true,
      host: c.host,
      dial: c.dial,
      addresses: c.addresses.map(({ address, allowed, range, embedded }) => ({
        address,
        allowed,
        range,
        embedded,
      })),
    };
  } catch (e) {
    if (e instanceof NetRefusal)
      return {
        url,
        allowed: false,
        host: e.detail.host,
        addresses: e.detail.address
          ? [{ address: e.detail.address, allowed: false, range: e.detail.range, embedded: undefined }]
          : [],
        refusal: {
          code: e.code,
          reason: e.reason,
          message: e.message,
          address: e.detail.address,
          range: e.detail.range,
          hint: e.hint,
        },
      };
    if (e instanceof NetError)
      return { url, allowed: false, addresses: [], error: { code: e.code, message: e.message } };
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
