/** Workflow awareness: Nextflow task roots (work dirs with .command.run) and Snakemake job shells. */
import { basename } from "../core/path.ts";
import { decodeLossless } from "../core/lossless.ts";
import { outputOf } from "../rules/_view.ts";
import { readerOwners, readUntrustedHead } from "../core/untrusted.ts";
import type { StepProcess } from "./types.ts";

const SHELLS = new Set(["bash", "sh", "dash", "zsh"]);
/** what a process's command line is read from */
type Line = Pick<StepProcess, "argv" | "comm">;
const progName = (p: Line) => basename(p.argv?.[0] ?? p.comm ?? "");

/**
 * path.join and normalisation by string operations: Bun's path functions re-encode their input and
 * turn a lone surrogate (a byte kept from a path that is not UTF-8, src/core/lossless.ts) into U+FFFD.
 * `parts` joined must be absolute; the result is absolute and normalised ("." and ".." resolved lexically).
 */
function joinExact(...parts: string[]): string {
  const out: string[] = [];
  for (const seg of parts.join("/").split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}

/** The work dir of a Nextflow task root (`bash .command.run` in work/xx/hash), or undefined. */
export function nextflowWorkdir(p: Pick<StepProcess, "argv" | "cwd">): string | undefined {
  let arg: string | undefined;
  // called for every process a report walks: a plain loop, no closure
  for (const a of p.argv ?? [])
    if (a.endsWith(".command.run") && a.slice(a.lastIndexOf("/") + 1) === ".command.run") {
      arg = a;
      break;
    }
  if (!arg) return undefined;
  const dir = arg.slice(0, arg.lastIndexOf("/") + 1);
  if (arg.startsWith("/")) return joinExact(dir);
  return p.cwd?.startsWith("/") ? joinExact(p.cwd, dir) : undefined;
}

/**
 * `# NEXTFLOW TASK: NAME` from the head of .command.run; "task xx/hash" when the dir is gone or the
 * file is not one to trust. The path comes from recorded data (the process's argv and cwd), so it is
 * read as an untrusted path (src/core/untrusted.ts): never a FIFO or device (a report must not hang),
 * never through a final symlink, only a regular file owned by `owners` (by default this process's uid
 * or root: the store does not keep the recorded process's uid), its first 4 KiB.
 */
export function nextflowTaskName(workdir: string, owners: readonly number[] = readerOwners()): string {
  const head = readUntrustedHead(`${workdir}/.command.run`, { maxBytes: 4096, owners });
  const m = head && /^# NEXTFLOW TASK: (.+)$/m.exec(decodeLossless(head));
  return m ? m[1]!.trim() : `task ${workdir.split("/").slice(-2).join("/")}`;
}

/** A Snakemake job: a `bash -c '…'` (or sh -c) started by the Snakemake process itself (a shell whose
 * argv was not captured counts: Snakemake starts no other shells). */
export function isSnakemakeJobShell(p: Line): boolean {
  return SHELLS.has(progName(p)) && (p.argv === null || p.argv.includes("-c"));
}

/**
 * Snakemake's own command for a job it runs in a second Snakemake (a `run:` rule's Python code):
 * `cd WORKDIR && PYTHON -m snakemake … --target-jobs 'RULE:WILDCARDS' …`, given to `sh -c` as it is —
 * a `shell:` job's text begins with Snakemake's `set -euo pipefail;` instead, so a shell command that
 * merely mentions these words does not pass for one.
 */
const RUN_JOB = /^cd (?:'[^']*'|\S+) && \S+ -m snakemake (?:[\s\S]* )?--target-jobs ((?:'[^']*' ?)+)/;

/**
 * The rule of a Snakemake `run:` job, from the text its shell was given (`sh -c TEXT`, as recorded,
 * not normalised): the rule of its `--target-jobs` (all of them, for a group: one rule, else none).
 * Undefined for any other command; the rule must be a Python identifier (the text is recorded data).
 */
export function snakemakeRunRule(shell: string): string | undefined {
  const m = RUN_JOB.exec(shell);
  if (!m) return undefined;
  let rule: string | undefined;
  for (const spec of m[1]!.matchAll(/'([^':]*):[^']*'/g)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec[1]!) || (rule !== undefined && rule !== spec[1]))
      return undefined;
    rule = spec[1];
  }
  return rule;
}

/** The text a shell was given with `-c` ("" when none was recorded). */
export const shellText = (p: Line): string => {
  const i = p.argv?.indexOf("-c") ?? -1;
  return i >= 0 ? (p.argv?.[i + 1] ?? "") : "";
};

/** The job's shell command, without Snakemake's strict-mode preamble, for naming a job with no known tool. */
export function shellCommand(p: Line): string {
  return shellText(p)
    .replace(/^\s*set -euo pipefail;\s*/, "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 80);
}

/**
 * The target a make recipe writes, where it can be read: the `-o` output (or `-c x.c` → x.o) of the
 * recipe's command, or of the shell command line make handed to `sh -c` (split at blanks, quotes
 * dropped). Undefined when the recipe names no output.
 */
export function recipeTarget(p: Line): string | undefined {
  const argv = p.argv;
  if (!argv?.length) return undefined;
  const c = argv.indexOf("-c");
  if (SHELLS.has(progName(p)) && c >= 0) {
    const words = (argv[c + 1] ?? "").split(/\s+/).map((w) => w.replace(/^['"]|['"]$/g, ""));
    return outputOf(words);
  }
  return outputOf(argv.slice(1));
}

/**
 * The executable a process ran (basename of argv[0], else its comm): what "other" steps are grouped by.
 * By string operations (src/core/path.ts): node:path's would turn a byte that is not UTF-8 into U+FFFD,
 * and `x\xfe` and `x\xfd` into one step.
 */
export const executableOf = (p: Line): string => executableNamed(p.argv?.[0], p.comm);

/** executableOf of a process whose argv[0] (undefined: none) and comm are these. */
export const executableNamed = (argv0: string | undefined, comm: string | null): string =>
  basename(argv0 ?? comm ?? "") || "?";
