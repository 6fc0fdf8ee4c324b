/**
 * Where to export: `--otlp-endpoint URL` (a base URL; /v1/traces and /v1/metrics are appended), else
 * OTEL_EXPORTER_OTLP_ENDPOINT (same), with OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT used exactly as
 * given; headers from OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_{TRACES,METRICS}_HEADERS
 * (`k=v,k2=v2`, values percent-decoded). Plain http and loopback/LAN addresses need an explicit
 * `--otlp-insecure` (or TRACER_OTLP_INSECURE=1 / OTEL_EXPORTER_OTLP_INSECURE=true).
 * Header values are secrets: nothing here ever prints them.
 */
import { Exit, TracerError } from "../errors.ts";
import { redactUrl } from "../net/errors.ts";
import { parseUrl } from "../net/guard.ts";
import { otlpRequested } from "./_requested.ts";

export type Signal = "traces" | "metrics";

export interface OtlpConfig {
  urls: Record<Signal, string>;
  headers: Record<Signal, Record<string, string>>;
  insecure: boolean;
  /** things the user should know (e.g. a protocol we do not speak); never header values */
  notes: string[];
}

export interface OtlpFlags {
  endpoint?: string;
  insecure?: boolean;
}

type Env = Record<string, string | undefined>;

const usage = (message: string, hint?: string) =>
  new TracerError("E_OTLP_CONFIG", message, Exit.usage, { hint });

/** Parse `k=v,k2=v2` (W3C baggage style). Errors name the entry's position, never its value. */
export function parseHeaders(raw: string | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw?.trim()) return out;
  raw.split(",").forEach((entry, i) => {
    if (!entry.trim()) return;
    const eq = entry.indexOf("=");
    const key = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    if (eq < 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key))
      throw usage(`${what}: entry ${i + 1} is not key=value with a valid header name`);
    let value: string;
    try {
      value = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      throw usage(`${what}: the value of "${key}" is not valid percent-encoding`);
    }
    if (/[\r\n\0]/.test(value)) throw usage(`${what}: the value of "${key}" contains a line break or NUL`);
    out[key.toLowerCase()] = value;
  });
  return out;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes)$/i.test(v.trim());

/** undefined when no endpoint is configured anywhere (export is off). */
export function resolveOtlpConfig(flags: OtlpFlags = {}, env: Env = process.env): OtlpConfig | undefined {
  if (!otlpRequested(flags, env)) return undefined;
  if (flags.endpoint !== undefined && !flags.endpoint.trim())
    throw usage(
      "--otlp-endpoint is empty",
      "give the collector's base URL (https://collector.example:4318), or leave the option out to export nothing",
    );
  const base = flags.endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exact = (s: Signal) =>
    flags.endpoint === undefined ? env[`OTEL_EXPORTER_OTLP_${s.toUpperCase()}_ENDPOINT`] : undefined;
  const insecure =
    flags.insecure === true || truthy(env.TRACER_OTLP_INSECURE) || truthy(env.OTEL_EXPORTER_OTLP_INSECURE);
  const join = (b: string, path: string) => `${b.replace(/\/+$/, "")}${path}`;
  const urls = {} as Record<Signal, string>;
  for (const s of ["traces", "metrics"] as const) {
    const url = exact(s) ?? (base ? join(base, `/v1/${s}`) : undefined);
    if (!url) throw usage(`no OTLP ${s} endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT or --otlp-endpoint`);
    // Fail fast on what needs no resolution: scheme, userinfo, syntax (exit 3, a refusal).
    parseUrl(url, { allowHttp: insecure });
    urls[s] = url;
  }
  const common = parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS, "OTEL_EXPORTER_OTLP_HEADERS");
  const headers = {
    traces: {
      ...common,
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
    },
    metrics: {
      ...common,
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS, "OTEL_EXPORTER_OTLP_METRICS_HEADERS"),
    },
  };
  const notes: string[] = [];
  const proto = env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (proto && proto !== "http/json")
    notes.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${proto} ignored: tracer sends OTLP/HTTP JSON (http/json)`);
  return { urls, headers, insecure, notes };
}

/** For logs and `--verbose`: endpoints and header names, never header values. */
export function describeOtlp(c: OtlpConfig): string {
  const names = [...new Set([...Object.keys(c.headers.traces), ...Object.keys(c.headers.metrics)])];
  return `traces → ${redactUrl(c.urls.traces)}, metrics → ${redactUrl(c.urls.metrics)}${c.insecure ? " (insecure: local/LAN allowed)" : ""}${
    names.length ? `, headers: ${names.join(", ")} (values hidden)` : ""
  }`;
}

/**
 * For commands: a flag that does not pass fails the command (the user asked for it right there); an
 * endpoint inherited from OTEL_* variables that does not pass only turns export off, with a warning.
 */
export function otlpForCommand(flags: OtlpFlags, warn: (line: string) => void, env: Env = process.env) {
  try {
    return resolveOtlpConfig(flags, env);
  } catch (e) {
    if (flags.endpoint !== undefined || !(e instanceof TracerError)) throw e;
    warn(`otlp export off: ${e.message}${e.hint ? ` (${e.hint})` : ""}`);
    return undefined;
  }
}
