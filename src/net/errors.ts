/** Typed failures of the guarded client: refusals (exit 3, a security check said no) and transport errors. */
import { Exit, TracerError } from "../errors.ts";

export type RefusalReason =
  | "bad-url"
  | "scheme"
  | "userinfo"
  | "host-not-allowed"
  | "address"
  | "redirect-limit"
  | "redirect-downgrade";

/** The policy said no. Says what was refused (url, address) and why (reason, range). */
export class NetRefusal extends TracerError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly url: string,
    readonly detail: { host?: string; address?: string; range?: string } = {},
    hint?: string,
  ) {
    super(`E_NET_REFUSED_${reason.toUpperCase().replaceAll("-", "_")}`, message, Exit.refused, { hint });
  }
}

export type NetFailure = "resolve" | "connect" | "timeout" | "too-large" | "http";

/** The request could not complete: no answer, too slow, too big, or a bad HTTP status. */
export class NetError extends TracerError {
  constructor(
    readonly kind: NetFailure,
    message: string,
    readonly url: string,
    options: { cause?: unknown; status?: number; hint?: string } = {},
  ) {
    super(`E_NET_${kind.toUpperCase().replaceAll("-", "_")}`, message, Exit.error, options);
    this.status = options.status;
  }
  readonly status: number | undefined;
}

/** URL without query or fragment, for messages (a query may hold a token). */
export function redactUrl(u: URL | string): string {
  try {
    const url = typeof u === "string" ? new URL(u) : u;
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return "<invalid url>";
  }
}
