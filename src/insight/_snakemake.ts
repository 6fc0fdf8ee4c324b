/**
 * Snakemake rule names for job steps. The recorded processes do not carry them (a job is a `bash -c`
 * line), but Snakemake 7 keeps one JSON file per output in `.snakemake/metadata/` of its working
 * directory with the job's `rule` and `shellcmd`: a job step whose shell command is a metadata file's
 * `shellcmd` belongs to that rule. The directory and files are recorded-data paths, read as untrusted
 * (src/core/untrusted.ts: no FIFO or device, no final symlink, owned by us or root, bounded), at most
 * MAX_FILES files of at most 64 KiB each, the directory read one entry at a time (a listing of a
 * directory with millions of entries would hold every name); a file that is not such JSON is skipped.
 */
import { type Dir, opendirSync } from "node:fs";
import { decodeLossless } from "../core/lossless.ts";
import { readerOwners, readUntrustedHead } from "../core/untrusted.ts";
import { snakemakeRunRule } from "../steps/_workflow.ts";
import type { Step } from "../steps/types.ts";

const MAX_FILES = 20_000;
/** a Snakemake rule name is a Python identifier */
export const RULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const collapse = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * The shell command of a job step's root command line, normalised: what follows `bash -c` without
 * Snakemake's `set -euo pipefail;`, or the whole line when bash exec'd into a single command.
 */
export function jobShellCommand(command: string): string {
  const text = jobShellText(command);
  return collapse(text !== undefined ? text.replace(/^\s*set -euo pipefail;/, "") : command);
}

/** What follows `sh -c` in a job step's root command line, as recorded (undefined: not a shell's). */
const jobShellText = (command: string): string | undefined =>
  /^\S*\b(ba|da|z)?sh\s+-c\s([\s\S]*)$/.exec(command)?.[2];

/** the rule a `run:` job step names itself (src/steps/_workflow.ts), else undefined */
const runRuleOf = (step: Step): string | undefined => snakemakeRunRule(jobShellText(step.command) ?? "");

/** A job Snakemake's metadata knows by its times only (no `shellcmd`: a `script:`, `run:` or `wrapper:` rule). */
export interface TimedJob {
  rule: string;
  /** epoch ms */
  start: number;
  end: number;
}

/**
 * normalised shellcmd → rule name, from `${workdir}/.snakemake/metadata` (empty when there is none);
 * `timed` gets the jobs without a shell command, by their start and end
 */
export function snakemakeRules(
  workdir: string,
  owners: readonly number[] = readerOwners(),
  timed?: TimedJob[],
): Map<string, string> {
  const out = new Map<string, string>();
  const dir = `${workdir}/.snakemake/metadata`;
  let d: Dir;
  try {
    d = opendirSync(dir);
  } catch {
    return out;
  }
  try {
    for (let n = 0; n < MAX_FILES; n++) {
      const entry = d.readSync();
      if (!entry) break;
      read(entry.name);
    }
  } catch {
    // unreadable midway: what was read stands
  } finally {
    d.closeSync();
  }
  return out;

  function read(name: string): void {
    const head = readUntrustedHead(`${dir}/${name}`, { maxBytes: 64 * 1024, owners });
    if (!head) return;
    try {
      const meta = JSON.parse(decodeLossless(head)) as {
        rule?: unknown;
        shellcmd?: unknown;
        starttime?: unknown;
        endtime?: unknown;
      };
      if (typeof meta.rule !== "string" || !RULE_NAME.test(meta.rule)) return;
      if (typeof meta.shellcmd === "string") out.set(collapse(meta.shellcmd), meta.rule);
      else if (
        timed &&
        typeof meta.starttime === "number" &&
        typeof meta.endtime === "number" &&
        meta.endtime >= meta.starttime
      )
        timed.push({ rule: meta.rule, start: meta.starttime * 1000, end: meta.endtime * 1000 });
    } catch {}
  }
}

/**
 * The one job of `timed` the step ran in: the job overlapping at least half of the step's wall, when no
 * other job does (two `script:` jobs at once, each over most of the step, name none). Snakemake notes a
 * job's times around its run, so they hold the step's process from a few ms after it starts.
 */
export function timedRule(
  timed: readonly TimedJob[],
  startedAt: number,
  endedAt: number | null,
): string | undefined {
  if (endedAt === null || !(endedAt >= startedAt)) return undefined;
  const half = Math.max(1, (endedAt - startedAt) / 2);
  let found: string | undefined;
  for (const t of timed) {
    const overlap = Math.min(t.end, endedAt) - Math.max(t.start, startedAt);
    if (overlap < half) continue;
    if (found !== undefined && found !== t.rule) return undefined;
    found = t.rule;
  }
  return found;
}

/**
 * The rules of job steps for advise, shown one run's steps at a time (src/insight/advise.ts RuleFinder):
 * a `run:` job names its rule itself; a shell job is found by its shell command in its run's working
 * directory's metadata; a job without one (`script:`) by its times once every run is seen, and then
 * every job of the same key in the other runs too (the metadata holds only each output's latest job:
 * an older run's times match nothing). Kept between runs: each directory's metadata (bounded), the
 * names of `run:` rules, and each unnamed job's key and times.
 */
export class SnakemakeRules {
  /** metadata read once a directory */
  private readonly byDir = new Map<string, { byCommand: Map<string, string>; timed: TimedJob[] }>();
  /** `run:` jobs have no shellcmd in the metadata either, but are named by themselves: not candidates by time */
  private readonly named = new Set<string>();
  /** the job steps neither names, in the order seen: where and when they ran */
  private readonly unnamed: { cwd: string; key: string; start: number; end: number | null }[] = [];

  private metaIn(dir: string) {
    let m = this.byDir.get(dir);
    if (!m) {
      const timed: TimedJob[] = [];
      m = { byCommand: snakemakeRules(dir, readerOwners(), timed), timed };
      this.byDir.set(dir, m);
    }
    return m;
  }

  /** a job step's rule by its run's metadata or its own `run:` name; null: left to `later` */
  see(_run: number, row: { cwd: string | null }, step: Step): string | null {
    const own = runRuleOf(step);
    if (own !== undefined) this.named.add(own);
    const cwd = row.cwd;
    const known = cwd?.startsWith("/")
      ? this.metaIn(cwd).byCommand.get(jobShellCommand(step.command))
      : undefined;
    const rule = known ?? own;
    if (rule !== undefined) return rule;
    if (cwd?.startsWith("/"))
      this.unnamed.push({ cwd, key: step.key, start: step.startedAt, end: step.endedAt });
    return null;
  }

  /** once every run is seen: the rule by times of a job step `see` left, by its key */
  later(): (key: string) => string | undefined {
    const byKey = new Map<string, string>();
    const candidatesIn = new Map<string, TimedJob[]>();
    for (const u of this.unnamed) {
      if (byKey.has(u.key)) continue;
      let candidates = candidatesIn.get(u.cwd);
      if (!candidates) {
        candidates = this.metaIn(u.cwd).timed.filter((t) => !this.named.has(t.rule));
        candidatesIn.set(u.cwd, candidates);
      }
      const rule = timedRule(candidates, u.start, u.end);
      if (rule !== undefined) byKey.set(u.key, rule);
    }
    return (key) => byKey.get(key);
  }
}
