/**
 * A traced command's own CPU, apart from tracer's (for the benches: tracer's whole CPU is then the
 * wait4 rusage of `tracer run` less this). CMD runs under `bash -c '"$@"; times > FILE'`: bash's `times`
 * builtin prints the shell's and its waited-for children's user and system time (the kernel's rusage,
 * to the ms), so the figure includes every in-kernel cost charged to CMD's side, traced or not.
 */
import { readFileSync } from "node:fs";

/** `cmd` wrapped so that its CPU lands in `file` at its end (its exit status kept) */
export function withTimes(cmd: string[], file: string): string[] {
  return ["bash", "-c", `"$@"; s=$?; times > '${file}'; exit $s`, "bash", ...cmd];
}

/** The CPU (ms) `times` wrote to `file`: two lines `0m1.234s 0m0.056s` (the shell's, then its children's). */
export function timesMs(file: string): number {
  let ms = 0;
  let fields = 0;
  for (const m of readFileSync(file, "utf8").matchAll(/(\d+)m([\d.]+)s/g)) {
    ms += (Number(m[1]) * 60 + Number(m[2])) * 1000;
    fields++;
  }
  if (fields !== 4) throw new Error(`${file}: not the output of bash's times`);
  return ms;
}
