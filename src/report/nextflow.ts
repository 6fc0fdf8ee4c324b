/**
 * A Nextflow trace.txt: tab-separated, Nextflow's column names and its human units (durations like
 * "1m 5s", memory like "12.3 MB", "%cpu" like "98.5%", submit "yyyy-MM-dd HH:mm:ss.SSS"), so tooling
 * that reads Nextflow traces reads tracer's steps.
 */
import { sanitize } from "../core/sanitize.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import { youngCollector } from "../core/young.ts";
import { chunks, collect } from "./_chunks.ts";
import type { Step } from "../steps/index.ts";
import type { Report } from "./types.ts";
import { known, peakUnknown } from "./_known.ts";
import { defuseFormula } from "./csv.ts";

export const NEXTFLOW_COLUMNS = [
  "task_id",
  "hash",
  "native_id",
  "name",
  "status",
  "exit",
  "submit",
  "duration",
  "realtime",
  "%cpu",
  "peak_rss",
  "peak_vmem",
  "rchar",
  "wchar",
  "read_bytes",
  "write_bytes",
] as const;

/** Nextflow's Duration.toString: "123ms", "4.5s", "2m 8s", "1h 2m 3s", "1d 2h 3m 4s". */
export function nfDuration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toString()}s`;
  const total = Math.round(ms / 1000);
  const [d, h, m, sec] = [
    Math.floor(total / 86400),
    Math.floor(total / 3600) % 24,
    Math.floor(total / 60) % 60,
    total % 60,
  ];
  const parts = d ? [`${d}d`, `${h}h`] : h ? [`${h}h`] : [];
  return [...parts, `${m}m`, `${sec}s`].join(" ");
}

const MEMORY_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"] as const;

/** Nextflow's MemoryUnit.toString: "0", "512 B", "1.5 KB", "12.3 MB", "2 GB" (1024-based, one decimal). */
export function nfMemory(bytes: number | null): string {
  if (bytes === null) return "-";
  if (bytes === 0) return "0";
  const units = MEMORY_UNITS;
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}

/** n with leading zeros to 2 digits (String(n).padStart(2, "0"), without the call: 7 of them a step) */
const pad = (n: number) => (n < 10 ? `0${n}` : `${n}`);
/** the same to 3 digits */
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
/** submit time in local time, as Nextflow prints it */
export function nfDate(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad3(d.getMilliseconds())}`;
}

function hash(s: Step): string {
  if (!s.workdir) return "-";
  const [a, b] = s.workdir.split("/").slice(-2);
  // recorded text (a work dir's name): no formula a spreadsheet would run
  return a && b ? defuseFormula(`${a}/${b.slice(0, 6)}`) : "-";
}

/** A step's summed figure, or null ("-") when none of its processes has it (src/report/_known.ts), not 0. */
const figure = (s: Step, field: keyof NonNullable<Step["unknown"]>, v: number) =>
  known(s, s.processIds.length, field, v);

const status = (s: Step) => (s.endedAt === null ? "RUNNING" : s.failed ? "FAILED" : "COMPLETED");

/** The trace written in chunks to `out`: a header line, then one line per step. */
export function writeNextflow(r: Report, out: (chunk: string) => void): void {
  const tick = youngCollector();
  const add = chunks(out);
  add(`${NEXTFLOW_COLUMNS.join("\t")}\n`);
  for (const s of r.steps) {
    tick();
    // the recorded text (name, work dir) sanitised: no raw tab or newline can split a row, no control
    // reaches a terminal; every other cell is made here of digits, units and fixed words
    add(
      `${[
        String(s.index),
        sanitize(hash(s)),
        String(s.pid),
        sanitize(defuseFormula(s.name)),
        status(s),
        s.exitCode === null ? (s.signal === null ? "-" : String(128 + s.signal)) : String(s.exitCode),
        nfDate(s.startedAt),
        // duration: submit to end; realtime: the time it ran (an `other` step's: while one of its processes ran)
        nfDuration(s.endedAt === null ? null : Math.max(s.endedAt - s.startedAt, s.durationMs ?? 0)),
        nfDuration(s.durationMs),
        s.durationMs && figure(s, "cpu", s.cpuUs) !== null
          ? `${(s.cpuUs / (10 * s.durationMs)).toFixed(1)}%`
          : "-",
        nfMemory(peakUnknown(s, s.processIds.length) ? null : s.peakRssKb * 1024),
        "-",
        nfMemory(figure(s, "rchar", s.rchar)),
        nfMemory(figure(s, "wchar", s.wchar)),
        nfMemory(figure(s, "readBytes", s.readBytes)),
        nfMemory(figure(s, "writeBytes", s.writeBytes)),
      ].join("\t")}\n`,
    );
  }
  add.end();
}

/** writeNextflow as one string. */
export const renderNextflow = (r: Report): string => collect((out) => writeNextflow(r, out));

// once per step of a report (writeNextflow: one loop over them; src/core/jit-tier.ts)
dfgOnly(nfDuration, nfMemory, pad, pad3, nfDate, hash, figure, status, writeNextflow);
