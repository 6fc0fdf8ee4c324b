/**
 * OTLP/HTTP JSON encoding of a run: the run is a trace (trace id = the run's UUID), the run itself the
 * root span, each process a span whose parent is its parent process (or the run span). Attributes follow
 * the OpenTelemetry process semantic conventions, with tracer's own figures under `tracer.*`. System
 * samples become gauges. JSON rules: hex trace/span ids, 64-bit integers as decimal strings, integer
 * enums (span kind 1 = internal; status 0 unset, 2 error). Metrics: ./metrics.ts.
 *
 * Every string value and span name goes through the terminal's sanitiser (src/core/sanitize.ts): an
 * OTLP string must be valid UTF-8, and a recorded byte that is not UTF-8 is a lone surrogate here
 * (src/core/lossless.ts) that a collector refuses, dropping the whole batch with it; it is sent as the
 * text `\xff`. Control and invisible characters are sent escaped as well (`\x1b`): a collector's debug
 * exporter or a trace UI shows these strings to a person. tracer's own JSON keeps the exact data.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { sanitize } from "../core/sanitize.ts";
import { VERSION } from "../version.ts";
import type { ExportOptions, ExportProcess, ExportRun } from "./types.ts";

export type AnyValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: AnyValue[] } };
export interface KeyValue {
  key: string;
  value: AnyValue;
}
export interface OtlpResource {
  attributes: KeyValue[];
}
export interface OtlpScope {
  name: string;
  version: string;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status: { code: number; message?: string };
}

export const SPAN_KIND_INTERNAL = 1;
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;
export const SCOPE: OtlpScope = { name: "tracer", version: VERSION };

export type Attr = string | number | boolean | string[] | undefined | null;

function value(v: Exclude<Attr, undefined | null>): AnyValue {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((s) => ({ stringValue: sanitize(s) })) } };
  if (typeof v === "string") return { stringValue: sanitize(v) };
  if (typeof v === "boolean") return { boolValue: v };
  return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

/** Attributes from a record, skipping absent values. */
export function attributes(rec: Record<string, Attr>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(rec))
    if (v !== undefined && v !== null) out.push({ key, value: value(v) });
  return out;
}

/** Milliseconds since the epoch → nanoseconds as a decimal string (exact, no float rounding past 2^53). */
export const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

const hash = (s: string) => createHash("sha256").update(s).digest("hex");

/** The run's UUID as 32 hex digits (or a hash of any other id). Never all zeros. */
export function traceIdOf(runId: string): string {
  const hex = runId.replaceAll("-", "").toLowerCase();
  const id = /^[0-9a-f]{32}$/.test(hex) ? hex : hash(runId).slice(0, 32);
  return /^0+$/.test(id) ? hash(`${runId}!`).slice(0, 32) : id;
}

/** Stable span id of a process (or of the run, key "run"): re-encoding a run never changes ids. */
export function spanIdOf(runId: string, key: string): string {
  const id = hash(`${runId}\0${key}`).slice(0, 16);
  return /^0+$/.test(id) ? "0000000000000001" : id;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const kbToBytes = (kb: number | undefined) => (kb === undefined ? undefined : kb * 1024);

export function runResource(run: ExportRun): OtlpResource {
  return {
    attributes: attributes({
      "service.name": "tracer",
      "service.version": VERSION,
      "host.name": run.host,
      "tracer.run.id": run.id,
      "tracer.run.name": run.name,
      "tracer.pipeline": run.pipeline,
    }),
  };
}

function errorStatus(exitCode?: number, signal?: number): OtlpSpan["status"] {
  if (signal) return { code: STATUS_ERROR, message: `killed by signal ${signal}` };
  if (exitCode !== undefined && exitCode !== 0)
    return { code: STATUS_ERROR, message: `exit code ${exitCode}` };
  return { code: STATUS_UNSET };
}

function spanName(p: ExportProcess): string {
  return sanitize(
    p.comm ||
      (p.executablePath && basename(p.executablePath)) ||
      (p.argv?.[0] && basename(p.argv[0])) ||
      `pid ${p.pid}`,
  );
}

export function runSpan(run: ExportRun): OtlpSpan {
  return {
    traceId: traceIdOf(run.id),
    spanId: spanIdOf(run.id, "run"),
    name: sanitize(`run ${run.name}`),
    kind: SPAN_KIND_INTERNAL,
    startTimeUnixNano: nanos(run.startedAt),
    endTimeUnixNano: nanos(run.endedAt ?? run.startedAt),
    attributes: attributes({
      "process.command": run.command?.[0],
      "process.working_directory": run.cwd,
      "process.exit.code": run.exitCode,
      "tracer.run.id": run.id,
      "tracer.run.name": run.name,
      "tracer.pipeline": run.pipeline,
      "tracer.run.status": run.status,
      "tracer.run.capture_mode": run.mode,
      "tracer.run.events_lost": run.eventsLost,
      "tracer.process.signal": run.signal,
    }),
    status: errorStatus(run.exitCode, run.signal),
  };
}

export function processSpan(run: ExportRun, p: ExportProcess, opts: ExportOptions = {}): OtlpSpan {
  const end = p.endedAt ?? run.endedAt ?? p.startedAt;
  const args = opts.commandArgs && p.argv?.length ? p.argv : undefined;
  return {
    traceId: traceIdOf(run.id),
    spanId: spanIdOf(run.id, p.key),
    parentSpanId: spanIdOf(run.id, p.parentKey ?? "run"),
    name: spanName(p),
    kind: SPAN_KIND_INTERNAL,
    startTimeUnixNano: nanos(p.startedAt),
    endTimeUnixNano: nanos(Math.max(end, p.startedAt)),
    attributes: attributes({
      "process.pid": p.pid,
      "process.parent_pid": p.ppid,
      "process.executable.name": p.comm ?? (p.executablePath ? basename(p.executablePath) : undefined),
      "process.executable.path": p.executablePath,
      "process.command": p.argv?.[0],
      "process.command_args": args,
      "process.working_directory": p.cwd,
      "process.creation.time": iso(p.startedAt),
      "process.exit.code": p.exitCode,
      "process.exit.time": iso(p.endedAt),
      "tracer.process.signal": p.signal,
      "tracer.process.core_dumped": p.coreDumped || undefined,
      "tracer.process.oom_killed": p.oomKilled || undefined,
      "tracer.process.start_ticks": p.startTicks,
      "tracer.process.cpu.user_us": p.userUs,
      "tracer.process.cpu.system_us": p.systemUs,
      "tracer.process.memory.peak_rss": kbToBytes(p.peakRssKb),
      "tracer.process.io.rchar": p.rchar,
      "tracer.process.io.wchar": p.wchar,
      "tracer.process.disk.read_bytes": p.readBytes,
      "tracer.process.disk.write_bytes": p.writeBytes,
      "tracer.process.figures_source": p.figures,
    }),
    status: errorStatus(p.exitCode, p.signal),
  };
}

/** Every span of a run: the run span first, then one per process. */
export function runSpans(run: ExportRun, processes: ExportProcess[], opts: ExportOptions = {}): OtlpSpan[] {
  const keys = new Set(processes.map((p) => p.key));
  return [
    runSpan(run),
    ...processes.map((p) =>
      processSpan(run, p.parentKey && !keys.has(p.parentKey) ? { ...p, parentKey: undefined } : p, opts),
    ),
  ];
}

/** Group items by resource into one ExportTraceServiceRequest. */
export function traceRequest(groups: { resource: OtlpResource; spans: OtlpSpan[] }[]) {
  return {
    resourceSpans: groups.map((g) => ({
      resource: g.resource,
      scopeSpans: [{ scope: SCOPE, spans: g.spans }],
    })),
  };
}
