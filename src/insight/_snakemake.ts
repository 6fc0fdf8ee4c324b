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

const MAX_FILES = 20_000;
/** a Snakemake rule name is a Python identifier */
export const RULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const collapse = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * The shell command of a job step's root command line, normalised: what follows `bash -c` without
 * Snakemake's `set -euo pipefail;`, or the whole line when bash exec'd into a single command.
 */
export function jobShellCommand(command: string): string {
  const m = /^\S*\b(ba|da|z)?sh\s+-c\s([\s\S]*)$/.exec(command);
  return collapse(m ? m[2]!.replace(/^\s*set -euo pipefail;/, "") : command);
}

/** normalised shellcmd → rule name, from `${workdir}/.snakemake/metadata` (empty when there is none) */
export function snakemakeRules(
  workdir: string,
  owners: readonly number[] = readerOwners(),
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
      const meta = JSON.parse(decodeLossless(head)) as { rule?: unknown; shellcmd?: unknown };
      if (typeof meta.rule === "string" && RULE_NAME.test(meta.rule) && typeof meta.shellcmd === "string")
        out.set(collapse(meta.shellcmd), meta.rule);
    } catch {}
  }
}
