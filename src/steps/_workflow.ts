/** Workflow awareness: Nextflow task roots (work dirs with .command.run) and Snakemake job shells. */
import { closeSync, openSync, readSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import type { StepProcess } from "./types.ts";

const SHELLS = new Set(["bash", "sh", "dash", "zsh"]);
const progName = (p: StepProcess) => basename(p.argv?.[0] ?? p.comm ?? "");

/** The work dir of a Nextflow task root (`bash .command.run` in work/xx/hash), or undefined. */
export function nextflowWorkdir(p: StepProcess): string | undefined {
  const arg = p.argv?.find((a) => a.endsWith(".command.run") && basename(a) === ".command.run");
  if (!arg) return undefined;
  if (isAbsolute(arg)) return dirname(arg);
  return p.cwd ? join(p.cwd, dirname(arg)) : undefined;
}

/** `# NEXTFLOW TASK: NAME` from the head of .command.run; "task xx/hash" when the dir is gone. */
export function nextflowTaskName(workdir: string): string {
  let head = "";
  try {
    const fd = openSync(join(workdir, ".command.run"), "r");
    try {
      const buf = Buffer.alloc(4096);
      head = buf.toString("utf8", 0, readSync(fd, buf, 0, buf.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    // the work dir was cleaned up: name the task by its hash dir
  }
  const m = /^# NEXTFLOW TASK: (.+)$/m.exec(head);
  return m ? m[1]!.trim() : `task ${workdir.split("/").slice(-2).join("/")}`;
}

/** A Snakemake job: a `bash -c '…'` (or sh -c) started by the Snakemake process itself (a shell whose
 * argv was not captured counts: Snakemake starts no other shells). */
export function isSnakemakeJobShell(p: StepProcess): boolean {
  return SHELLS.has(progName(p)) && (p.argv === null || p.argv.includes("-c"));
}

/** The job's shell command, without Snakemake's strict-mode preamble, for naming a job with no known tool. */
export function shellCommand(p: StepProcess): string {
  const i = p.argv?.indexOf("-c") ?? -1;
  const cmd = i >= 0 ? (p.argv?.[i + 1] ?? "") : "";
  return cmd
    .replace(/^\s*set -euo pipefail;\s*/, "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 80);
}
