/**
 * The one HTTP client of the program: ofetch on top of a guarded fetch (src/net/_exchange.ts).
 * Timeouts and retries live in the guarded fetch, not in ofetch: ofetch 1.5.1 reuses an aborted
 * timeout signal across retries (so `timeout` + `retry` never really retries) and cannot tell a
 * network error from a 500. Retries happen only on network errors and 408/429/502/503/504, with
 * exponential backoff and jitter, honouring Retry-After up to a cap.
 */
import { createFetch, FetchError, type FetchOptions, type ResponseType } from "ofetch";
import { TracerError } from "../errors.ts";
import { type ExchangeOptions, exchange } from "./_exchange.ts";
import { NetError, redactUrl } from "./errors.ts";
import { type CheckedUrl, checkUrl, type NetPolicy } from "./guard.ts";

export interface ClientOptions extends NetPolicy {
  /** an explicit proxy URL; HTTP(S)_PROXY / NO_PROXY from the environment are never used */
  proxy?: string;
  /** resolve + connect + response headers, per attempt (default 10 s) */
  headersTimeoutMs?: number;
  /** the whole body after the headers (default 60 s) */
  bodyTimeoutMs?: number;
  /** response size cap in bytes, after decompression (default 16 MiB) */
  maxBytes?: number;
  /** attempts after the first (default 2) */
  retries?: number;
  retryBaseMs?: number;
  /** never wait longer than this between attempts; a longer Retry-After ends the retries */
  retryMaxDelayMs?: number;
  /** at most 5 */
  maxRedirects?: number;
  /** extra trust anchors (PEM) */
  ca?: string | string[];
}

export const RETRY_STATUS = new Set([408, 429, 502, 503, 504]);
const RETRY_FAILURES = new Set(["resolve", "connect", "timeout"]);

function resolved(
  o: ClientOptions,
): ExchangeOptions & { retries: number; retryBaseMs: number; retryMaxDelayMs: number } {
  return {
    ...o,
    headersTimeoutMs: o.headersTimeoutMs ?? 10_000,
    bodyTimeoutMs: o.bodyTimeoutMs ?? 60_000,
    maxBytes: o.maxBytes ?? 16 * 1024 * 1024,
    maxRedirects: Math.min(o.maxRedirects ?? 5, 5),
    retries: o.retries ?? 2,
    retryBaseMs: o.retryBaseMs ?? 250,
    retryMaxDelayMs: o.retryMaxDelayMs ?? 30_000,
  };
}

/** Milliseconds a Retry-After header asks for (delta-seconds or HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export const backoffMs = (attempt: number, base: number, cap: number) =>
  Math.min(cap, base * 2 ** attempt) * (0.5 + Math.random() / 2);

type Body = string | Uint8Array | undefined;

async function replayableBody(b: unknown): Promise<Body> {
  if (b === undefined || b === null) return undefined;
  if (typeof b === "string" || b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (b instanceof Blob) return new Uint8Array(await b.arrayBuffer());
  if (b instanceof URLSearchParams) return b.toString();
  throw new TypeError(
    "guarded fetch: body must be a string, bytes or a Blob (it may be sent more than once)",
  );
}

/** fetch(), guarded: same shape, so ofetch (or a caller) can use it directly. */
export function guardedFetch(options: ClientOptions = {}) {
  const o = resolved(options);
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const req = input instanceof Request ? input : undefined;
    const url = req ? req.url : String(input);
    const method = (init.method ?? req?.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers ?? req?.headers);
    const body = await replayableBody(init.body ?? (req?.body ? await req.arrayBuffer() : undefined));
    const signal = init.signal ?? req?.signal ?? undefined;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= o.retries || signal?.aborted === true;
      let res: Response;
      try {
        res = await exchange(url, { method, headers, body, signal }, o);
      } catch (e) {
        if (last || !(e instanceof NetError) || !RETRY_FAILURES.has(e.kind)) throw e;
        await Bun.sleep(backoffMs(attempt, o.retryBaseMs, o.retryMaxDelayMs));
        continue;
      }
      if (last || !RETRY_STATUS.has(res.status)) return res;
      const asked = parseRetryAfter(res.headers.get("retry-after"));
      if (asked !== undefined && asked > o.retryMaxDelayMs) return res;
      await res.body?.cancel().catch(() => {});
      await Bun.sleep(asked ?? backoffMs(attempt, o.retryBaseMs, o.retryMaxDelayMs));
    }
  };
}

export interface NetClient {
  /** the guarded fetch itself (Response, body capped) */
  fetch: ReturnType<typeof guardedFetch>;
  /** ofetch on the guarded fetch; errors are TracerErrors (NetRefusal / NetError) */
  request<T = unknown>(url: string | URL, options?: FetchOptions): Promise<T>;
  /** evaluate the policy only (resolution included), no request */
  check(url: string | URL): Promise<CheckedUrl>;
}

/** Unwrap ofetch's FetchError into our typed errors. */
function untangle(e: unknown, url: string | URL): never {
  if (e instanceof FetchError) {
    if (e.cause instanceof TracerError) throw e.cause;
    const shown = redactUrl(url);
    if (e.status !== undefined)
      throw new NetError("http", `${shown}: HTTP ${e.status} ${e.statusText ?? ""}`.trim(), shown, {
        status: e.status,
        cause: e,
      });
    throw new NetError("connect", `${shown}: ${e.message}`, shown, { cause: e });
  }
  throw e;
}

export function createNetClient(options: ClientOptions = {}): NetClient {
  const f = guardedFetch(options);
  const $fetch = createFetch({ fetch: f as typeof fetch });
  return {
    fetch: f,
    async request<T>(url: string | URL, opts: FetchOptions = {}) {
      try {
        return (await $fetch<T, ResponseType>(String(url), {
          ...opts,
          retry: false,
          timeout: undefined,
        })) as T;
      } catch (e) {
        untangle(e, url);
      }
    },
    check: (url) => checkUrl(url, options),
  };
}
