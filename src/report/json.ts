/** The JSON report: stable, snake_case, described by docs/report-schema.json (schema "tracer-report/1"). */
import { escapeJson } from "../core/json.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import { youngCollector } from "../core/young.ts";
import { chunks, collect } from "./_chunks.ts";
import type { Step } from "../steps/index.ts";
import { known, peakUnknown } from "./_known.ts";
import type { Report } from "./types.ts";

export const SCHEMA_ID = "tracer-report/1";

/** ISO 8601, or null when unknown (a step none of whose processes has a known time: NaN) */
const iso = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** A step's or the run's memory and I/O figures over `n` processes: the same fields, in the same order, for both. */
function figuresJson(
  c: Pick<
    Step,
    | "peakRssKb"
    | "peakRssUpperKb"
    | "peakRssExact"
    | "readBytes"
    | "writeBytes"
    | "rchar"
    | "wchar"
    | "unknown"
  >,
  n: number,
) {
  const noPeak = peakUnknown(c, n);
  return {
    peak_rss_bytes: noPeak ? null : c.peakRssKb * 1024,
    // (no bound: some process's peak is unknown)
    peak_rss_upper_bytes: noPeak || !Number.isFinite(c.peakRssUpperKb) ? null : c.peakRssUpperKb * 1024,
    peak_rss_exact: !noPeak && c.peakRssExact,
    read_bytes: known(c, n, "readBytes", c.readBytes),
    write_bytes: known(c, n, "writeBytes", c.writeBytes),
    rchar: known(c, n, "rchar", c.rchar),
    wchar: known(c, n, "wchar", c.wchar),
  };
}

export function stepJson(s: Step) {
  const n = s.processIds.length;
  // a figure none of the step's processes has is null, not 0 (src/report/_known.ts)
  const cpu = known(s, n, "cpu", s.cpuUs);
  return {
    index: s.index,
    key: s.key,
    name: s.name,
    kind: s.kind,
    tool: s.tool,
    tools: s.tools,
    pid: s.pid,
    command: s.command,
    workdir: s.workdir ?? null,
    started_at: iso(s.startedAt),
    ended_at: iso(s.endedAt),
    duration_ms: s.durationMs === null ? null : round(s.durationMs),
    cpu_seconds: cpu === null ? null : round(cpu / 1e6, 6),
    cpu_pct: s.durationMs && cpu !== null ? round((100 * cpu) / 1000 / s.durationMs, 1) : null,
    ...figuresJson(s, n),
    exit_code: s.exitCode,
    signal: s.signal,
    oom_killed: s.oomKilled,
    failed: s.failed,
    processes: s.processIds.length,
  };
}

export function reportJson(r: Report) {
  const t = r.totals;
  const n = t.processes;
  const cpuHours = known(t, n, "cpu", t.cpuHours);
  return {
    schema: SCHEMA_ID,
    run: {
      id: r.run.id,
      name: r.run.name,
      pipeline: r.run.pipeline,
      command: r.run.command,
      cwd: r.run.cwd,
      host: r.run.host,
      capture_mode: r.run.mode,
      capture_skipped: r.run.captureSkipped ?? [],
      status: r.run.status,
      exit_code: r.run.exitCode,
      signal: r.run.signal,
      stop_signal: r.run.stopSignal ?? null,
      started_at: iso(r.run.startedAt),
      ended_at: iso(r.run.endedAt),
      events_lost: r.run.eventsLost,
      argv_lost: r.run.argvLost ?? 0,
    },
    totals: {
      wall_ms: t.wallMs === null ? null : round(t.wallMs),
      // 12 decimals: 3.6 ns, so the total keeps every microsecond the rows add up to
      cpu_hours: cpuHours === null ? null : round(cpuHours, 12),
      ...figuresJson(t, n),
      processes: t.processes,
      steps: t.steps,
      failed_steps: t.failedSteps,
      price_per_hour: t.pricePerHour,
      cost: t.cost,
    },
    steps: r.steps.map(stepJson),
    system: r.system.map((p) => ({
      at: iso(p.at),
      cpu_pct: p.cpuPct === null ? null : round(p.cpuPct, 1),
      mem_used_bytes: p.memUsedKb === null ? null : p.memUsedKb * 1024,
      mem_total_bytes: p.memTotalKb === null ? null : p.memTotalKb * 1024,
    })),
  };
}

/** steps stringified together (one JSON.stringify call and one escape pass per this many) */
const STEPS_PER_PIECE = 512;
/** how JSON.stringify({ steps }, null, 2) opens and closes: the steps between are at the report's indentation */
const PIECE_HEAD = '{\n  "steps": [\n';
const PIECE_TAIL = "\n  ]\n}";

/**
 * The report as indented JSON written in chunks to `out`, the steps stringified a few hundred at a time
 * (no tree of every step's object held at once, no string of the whole report): the same text as
 * JSON.stringify(reportJson(r), null, 2) and a newline, made terminal-safe (src/core/json.ts: bidi, C1
 * and separator characters as \uXXXX; the parsed value is the same).
 */
export function writeJson(r: Report, out: (chunk: string) => void): void {
  const text = escapeJson(JSON.stringify(reportJson({ ...r, steps: [] }), null, 2));
  // keys and string values are quoted with \" escaped: this is the one empty steps array
  const at = text.indexOf('"steps": []');
  if (!r.steps.length || at < 0) {
    out(`${text}\n`);
    return;
  }
  const tick = youngCollector();
  const add = chunks(out);
  add(`${text.slice(0, at)}"steps": [\n`);
  for (let k = 0; k < r.steps.length; k += STEPS_PER_PIECE) {
    const piece: ReturnType<typeof stepJson>[] = [];
    for (const s of r.steps.slice(k, k + STEPS_PER_PIECE)) {
      tick();
      piece.push(stepJson(s));
    }
    // nested as the report nests them: each step indented 4 spaces, its fields 6
    const json = JSON.stringify({ steps: piece }, null, 2);
    add(`${k ? ",\n" : ""}${escapeJson(json.slice(PIECE_HEAD.length, json.length - PIECE_TAIL.length))}`);
  }
  add(`\n  ]${text.slice(at + '"steps": []'.length)}\n`);
  add.end();
}

/** writeJson as one string. */
export const renderJson = (r: Report): string => collect((out) => writeJson(r, out));

// once per step of a report (src/core/jit-tier.ts)
dfgOnly(figuresJson, stepJson);
