/**
 * What a step asked its scheduler for, where tracer can read it: the scheduler header of a Nextflow
 * task's `.command.run` — `#SBATCH --mem`, `--cpus-per-task`/`-c`, `--time`/`-t` (Nextflow's Slurm
 * executor writes `-c N`, `-t HH:MM:SS`, `--mem NM`), and `#PBS -l mem=…,walltime=…,ncpus=…` or
 * `nodes=1:ppn=N`. Snakemake 7's `.snakemake/metadata` does not record a rule's resources, so
 * Snakemake requests are not read.
 *
 * The file is recorded data (the path comes from the task's argv and cwd): read as untrusted
 * (src/core/untrusted.ts: regular file, no final symlink, owned by us or root, first 4 KiB). Values are
 * parsed strictly — digits and a known unit only, anything else ignored — so nothing of the file's text
 * is kept but numbers. Like sbatch, header lines are read only up to the first line that is neither a
 * comment nor blank.
 */
import { decodeLossless } from "../core/lossless.ts";
import { readerOwners, readUntrustedHead } from "../core/untrusted.ts";

/** A step's known request; each figure null when the header does not set it. */
export interface Request {
  memory_bytes: number | null;
  cpus: number | null;
  time_minutes: number | null;
  /** where it was read: "sbatch" or "pbs" header of .command.run */
  source: "sbatch" | "pbs";
}

const KiB = 1024;
const UNIT: Record<string, number> = { "": 1, K: KiB, M: KiB ** 2, G: KiB ** 3, T: KiB ** 4 };
/** a count no scheduler request exceeds: anything larger is not a request we believe */
const sane = (n: number) => (Number.isSafeInteger(n) && n > 0 && n < 2 ** 50 ? n : null);

/** Slurm memory: a number with an optional K/M/G/T suffix, megabytes when none */
export function slurmMemory(v: string): number | null {
  const m = /^(\d{1,12})([KMGT]?)$/i.exec(v);
  if (!m) return null;
  const unit = m[2]!.toUpperCase();
  return sane(Number(m[1]) * (unit ? UNIT[unit]! : UNIT.M!));
}

/**
 * Slurm time, in minutes (rounded up): "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S".
 * Null for anything else (also "UNLIMITED").
 */
export function slurmMinutes(v: string): number | null {
  const m = /^(?:(\d{1,5})-)?(\d{1,7})(?::(\d{1,7}))?(?::(\d{1,7}))?$/.exec(v);
  if (!m) return null;
  const [d, a, b, c] = [m[1], m[2]!, m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
  let seconds: number;
  if (d !== undefined) seconds = d * 86400 + a! * 3600 + (b ?? 0) * 60 + (c ?? 0);
  else if (c !== undefined) seconds = a! * 3600 + b! * 60 + c;
  else seconds = a! * 60 + (b ?? 0);
  return seconds > 0 ? Math.ceil(seconds / 60) : null;
}

/** PBS size: a number with b/kb/mb/gb/tb (w: words not accepted), bytes when none */
function pbsMemory(v: string): number | null {
  const m = /^(\d{1,15})([kmgt]?)b?$/i.exec(v);
  return m ? sane(Number(m[1]) * UNIT[m[2]!.toUpperCase()]!) : null;
}
/** PBS walltime: [[H:]M:]S or seconds, in minutes rounded up */
function pbsMinutes(v: string): number | null {
  const m = /^(?:(?:(\d{1,7}):)?(\d{1,7}):)?(\d{1,7})$/.exec(v);
  if (!m) return null;
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
  return s > 0 ? Math.ceil(s / 60) : null;
}
const count = (v: string | undefined) => (v !== undefined && /^\d{1,6}$/.test(v) ? sane(Number(v)) : null);

/** The request in a job script's scheduler header, or undefined when it has none. */
export function parseSchedulerHeader(text: string): Request | undefined {
  const r: Request = { memory_bytes: null, cpus: null, time_minutes: null, source: "sbatch" };
  let seen = false;
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "") continue;
    if (!t.startsWith("#")) break;
    const words = t.split(/\s+/);
    if (words[0] === "#SBATCH") {
      for (let i = 1; i < words.length; i++) {
        const w = words[i]!;
        const eq = w.indexOf("=");
        const [opt, inline] =
          w.startsWith("--") && eq > 0 ? [w.slice(0, eq), w.slice(eq + 1)] : [w, undefined];
        // -c4 / -t10 (short option, value attached)
        const short = /^-([ct])(.+)$/.exec(w);
        const key = short ? `-${short[1]}` : opt;
        if (!["--mem", "--cpus-per-task", "-c", "--time", "-t"].includes(key)) continue;
        const value = short ? short[2] : (inline ?? words[++i]);
        if (value === undefined) break;
        if (key === "--mem") r.memory_bytes = slurmMemory(value) ?? r.memory_bytes;
        else if (key === "--time" || key === "-t") r.time_minutes = slurmMinutes(value) ?? r.time_minutes;
        else r.cpus = count(value) ?? r.cpus;
        seen = true;
      }
    } else if (words[0] === "#PBS") {
      for (let i = 1; i < words.length; i++) {
        if (words[i] !== "-l" || words[i + 1] === undefined) continue;
        // mem=4gb,walltime=01:00:00 or nodes=1:ppn=2 (a walltime's colons are its own)
        const pieces = words[++i]!.split(",").flatMap((p) =>
          p.startsWith("walltime=") ? [p] : p.split(":"),
        );
        for (const kv of pieces) {
          const [k, v] = kv.split("=", 2) as [string, string | undefined];
          if (v === undefined) continue;
          if (k === "mem") r.memory_bytes = pbsMemory(v) ?? r.memory_bytes;
          else if (k === "walltime") r.time_minutes = pbsMinutes(v) ?? r.time_minutes;
          else if (k === "ncpus" || k === "ppn") r.cpus = count(v) ?? r.cpus;
          else continue;
          r.source = "pbs";
          seen = true;
        }
      }
    }
  }
  return seen && (r.memory_bytes !== null || r.cpus !== null || r.time_minutes !== null) ? r : undefined;
}

/** The request of a Nextflow task from its work dir's `.command.run` (read as untrusted), or undefined. */
export function nextflowRequest(
  workdir: string,
  owners: readonly number[] = readerOwners(),
): Request | undefined {
  const head = readUntrustedHead(`${workdir}/.command.run`, { maxBytes: 4096, owners });
  return head ? parseSchedulerHeader(decodeLossless(head)) : undefined;
}
