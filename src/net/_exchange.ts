/**
 * One guarded HTTP exchange: check the URL, dial the checked IP literal (Host header and TLS server name
 * set to the host name, so DNS rebinding cannot switch addresses), follow redirects by hand with each
 * hop re-checked, and hand back a response whose body is capped in size and time.
 * Bun's fetch has no lookup hook and honours HTTP(S)_PROXY by default: `proxy: false` unless the caller
 * configured a proxy explicitly.
 */
import { TracerError } from "../errors.ts";
import { NetError, NetRefusal, redactUrl } from "./errors.ts";
import { type CheckedUrl, checkUrl, type NetPolicy } from "./guard.ts";

export interface ExchangeOptions extends NetPolicy {
  proxy?: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /** extra trust anchors (PEM), e.g. a private CA for a collector, or a test CA */
  ca?: string | string[];
}

export interface ExchangeInit {
  method: string;
  headers: Headers;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that may go to the next hop when a redirect leaves the origin; the rest may carry secrets. */
const CROSS_ORIGIN_SAFE = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "content-type",
  "user-agent",
]);

class Timeout extends Error {
  constructor(readonly phase: "headers" | "body") {
    super(`timed out waiting for the response ${phase}`);
    this.name = "TracerTimeout";
  }
}

function pinnedUrl(c: CheckedUrl, dial: string, viaProxy: boolean): string {
  if (viaProxy || c.literal) return c.url.href;
  const u = new URL(c.url.href);
  u.hostname = dial.includes(":") ? `[${dial}]` : dial;
  return u.href;
}

/** Errors that prove nothing reached a server, so the next checked address may be tried. */
const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL"]);
const notConnected = (e: unknown) => NOT_CONNECTED.has(String((e as { code?: unknown })?.code ?? ""));

/** Turn whatever fetch or a stream threw into a typed error. */
function typed(e: unknown, signal: AbortSignal, url: string): Error {
  if (e instanceof TracerError) return e;
  const reason = signal.aborted ? signal.reason : undefined;
  if (reason instanceof TracerError) return reason;
  if (reason instanceof Timeout)
    return new NetError("timeout", `${url}: ${reason.message}`, url, { cause: e });
  if (signal.aborted) return new NetError("connect", `${url}: request aborted`, url, { cause: reason ?? e });
  return new NetError("connect", `${url}: ${(e as Error)?.message ?? String(e)}`, url, { cause: e });
}

function capBody(res: Response, ctl: AbortController, opts: ExchangeOptions, url: string): Response {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  const tooLarge = () =>
    new NetError("too-large", `${url}: response is larger than ${opts.maxBytes} bytes`, url, {
      status: res.status,
    });
  if (declared > opts.maxBytes) {
    ctl.abort(tooLarge());
    throw tooLarge();
  }
  if (!res.body) return res;
  const timer = setTimeout(() => ctl.abort(new Timeout("body")), opts.bodyTimeoutMs);
  timer.unref?.();
  const reader = res.body.getReader();
  let seen = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          clearTimeout(timer);
          return c.close();
        }
        seen += value.byteLength;
        if (seen > opts.maxBytes) {
          clearTimeout(timer);
          const err = tooLarge();
          ctl.abort(err);
          return c.error(err);
        }
        c.enqueue(value);
      } catch (e) {
        clearTimeout(timer);
        c.error(typed(e, ctl.signal, url));
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** Resolve-and-check under the same deadline as the connection. */
function raced<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export async function exchange(
  start: string | URL,
  init: ExchangeInit,
  opts: ExchangeOptions,
): Promise<Response> {
  const ctl = new AbortController();
  const outer = init.signal;
  const onOuter = () => ctl.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  outer?.addEventListener("abort", onOuter, { once: true });
  const timer = setTimeout(() => ctl.abort(new Timeout("headers")), opts.headersTimeoutMs);
  let url = String(start);
  let { method, body } = init;
  const headers = new Headers(init.headers);
  try {
    for (let hop = 0; ; hop++) {
      const checked = await raced(checkUrl(url, opts), ctl.signal);
      const shown = redactUrl(checked.url);
      headers.set("host", checked.url.host);
      // Every address was checked; try them in order, moving on only when a connection was refused
      // or unreachable (nothing was sent), never after a timeout.
      const dials =
        opts.proxy || checked.literal ? [checked.dial] : [...new Set(checked.addresses.map((a) => a.dial))];
      let res: Response | undefined;
      for (const [i, dial] of dials.entries()) {
        try {
          res = await fetch(pinnedUrl(checked, dial, Boolean(opts.proxy)), {
            method,
            headers,
            body,
            redirect: "manual",
            proxy: opts.proxy ? opts.proxy : false,
            tls: {
              ...(checked.literal ? {} : { serverName: checked.host }),
              ...(opts.ca ? { ca: opts.ca } : {}),
            },
            signal: ctl.signal,
          });
          break;
        } catch (e) {
          if (i === dials.length - 1 || ctl.signal.aborted || !notConnected(e))
            throw typed(e, ctl.signal, shown);
        }
      }
      if (!res) throw new NetError("connect", `${shown}: no address answered`, shown);
      const location = REDIRECTS.has(res.status) ? res.headers.get("location") : null;
      if (location === null) {
        clearTimeout(timer);
        return capBody(res, ctl, opts, shown);
      }
      await res.body?.cancel().catch(() => {});
      if (hop >= opts.maxRedirects)
        throw new NetRefusal(
          "redirect-limit",
          `refused ${shown}: more than ${opts.maxRedirects} redirects`,
          shown,
        );
      const next = new URL(location, checked.url);
      if (checked.url.protocol === "https:" && next.protocol !== "https:")
        throw new NetRefusal(
          "redirect-downgrade",
          `refused ${shown}: redirect from https to ${redactUrl(next)}`,
          redactUrl(next),
        );
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        headers.delete("content-type");
      }
      if (next.origin !== checked.url.origin)
        for (const k of [...headers.keys()]) if (!CROSS_ORIGIN_SAFE.has(k)) headers.delete(k);
      url = next.href;
    }
  } catch (e) {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuter);
    throw typed(e, ctl.signal, redactUrl(url));
  }
}
