/**
 * The accuracy oracle (./oracle.c) for tests and bench/accuracy.ts: build it with the system's C
 * compiler (once per source version, cached under the temp dir), wrap commands in it, read its truth.
 *
 *   const o = oracleBinary();                  // path of the compiled oracle
 *   const argv = wrap(o, out, ["xz", "-T2"]);  // run argv under `tracer run`: same pids
 *   const truths = readTruths(out);            // one Truth per wrapped command, in completion order
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SOURCE = join(import.meta.dir, "oracle.c");

/** What the oracle measured about one command (times in ns; CPU in µs; RSS in KiB; I/O in bytes). */
export interface Truth {
  /** the wrapped command's pid (the oracle's child) */
  pid: number;
  /** the oracle's own pid (the parent of `pid`) */
  oraclePid: number;
  /** /proc/PID/stat field 22 read while a zombie (0 when the exec failed before /proc was read) */
  startTicks: number;
  /** errno of a failed exec, else 0 */
  execErrno: number;
  /** exit code, -1 when killed */
  exitCode: number;
  signal: number;
  /** CLOCK_MONOTONIC / CLOCK_REALTIME just before fork() */
  forkMonoNs: number;
  forkRealNs: number;
  /** CLOCK_MONOTONIC when waitid(WNOWAIT) saw the zombie */
  zombieMonoNs: number;
  /** CLOCK_MONOTONIC / CLOCK_REALTIME just after wait4() reaped it */
  reapMonoNs: number;
  reapRealNs: number;
  /** wait4 rusage: the scheduler's runtime split in the kernel's ratio (includes reaped children) */
  userUs: number;
  systemUs: number;
  maxRssKb: number;
  statUtimeTicks: number;
  statStimeTicks: number;
  /** /proc/PID/io of the zombie: exact, all threads, no children (-1 when unreadable) */
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
  /**
   * the oracle's own life: its start (the fork that made it, from the kernel's taskstats ac_etime, to
   * the µs; -1 without CAP_NET_ADMIN), CLOCK_MONOTONIC at its main(), and once the child was reaped and
   * measured (only its line's write and its exit follow)
   */
  ownStartMonoNs: number;
  /** ownStartMonoNs is within this of the kernel's start (half the taskstats round trip, and 1 µs) */
  ownStartSlackNs: number;
  mainMonoNs: number;
  doneMonoNs: number;
  /** the oracle's own rusage (RUSAGE_SELF) then: its exec, start-up, fork and waits */
  selfUserUs: number;
  selfSystemUs: number;
}

/** Path of the compiled oracle; compiles it with `cc` when this source version is not built yet. */
export function oracleBinary(): string {
  const src = readFileSync(SOURCE);
  const hash = new Bun.CryptoHasher("sha256").update(src).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), "tracer-oracle");
  const bin = join(dir, `oracle-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${bin}.${process.pid}.tmp`;
  const cc = Bun.spawnSync(["cc", "-O2", "-o", tmp, SOURCE], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cannot build the oracle: ${cc.stderr.toString()}`);
  chmodSync(tmp, 0o755);
  renameSync(tmp, bin);
  return bin;
}

/** argv that runs `cmd` under the oracle, appending its truth to `out`. */
export const wrap = (oracle: string, out: string, cmd: string[]): string[] => [oracle, out, ...cmd];

/**
 * The oracle as a shell stand-in: `DIR/bash`, a symlink to the oracle that a tool runs as its shell
 * (`DIR/bash -c CMD`: Snakemake's shell.executable, make's SHELL). It runs `/bin/bash -c CMD` and
 * appends the truth to `out`; the caller puts `env` into the tool's environment. The symlink's name
 * makes the stand-in look like the shell it replaces: Snakemake adds its `set -euo pipefail;` for a
 * `bash`, and tracer takes a job's root for a `bash -c` shell.
 */
export function oracleShell(
  oracle: string,
  dir: string,
  out: string,
): { path: string; env: Record<string, string> } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "bash");
  symlinkSync(oracle, path);
  return { path, env: { ORACLE_SHELL: "/bin/bash", ORACLE_OUT: out } };
}

/** Every truth appended to `out` so far. */
export function readTruths(out: string): Truth[] {
  if (!existsSync(out)) return [];
  return readFileSync(out, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Truth);
}

/** ns on CLOCK_REALTIME → ms since the epoch (what tracer stores). */
export const realMs = (ns: number): number => ns / 1e6;
