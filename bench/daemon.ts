#!/usr/bin/env bun
/**
 * The daemon's host-wide cost: a daemon with a run active (embedded rules, none matching) while a
 * load generator runs `/bin/true` at a fixed rate host-wide, beside forkstat (Debian) watching the
 * same load (`forkstat -e exec,exit` to /dev/null), measured in the same run. Prints each one's CPU
 * as % of one core (utime+stime from /proc/PID/stat over the measured window), RSS over time, and
 * the ratios daemon / forkstat. Targets (issue 15): CPU ≤ forkstat's, RSS ≤ 64 MB and flat.
 *
 *   bun bench/daemon.ts [--rate 1000] [--execs 20000] [--samples 10] [--no-forkstat]   (TRACER_BIN=path: another build)
 *
 * `--execs` is the total the generator runs (after a 2 s warm-up of its own); RSS is sampled
 * `--samples` times across it. Needs root (the daemon's connector and taskstats) and a C compiler
 * (the generator: fork + exec of /bin/true, paced, up to 64 in flight).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureBuilt } from "../tests/helpers/harness.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "1000" },
    execs: { type: "string", default: "20000" },
    samples: { type: "string", default: "10" },
    "no-forkstat": { type: "boolean" },
  },
});
const rate = Number(values.rate);
const execs = Number(values.execs);
const samples = Math.max(1, Number(values.samples));
const CLK_TCK = 100;

const bin = process.env.TRACER_BIN ?? (await ensureBuilt());
const dir = mkdtempSync(join(tmpdir(), "tracer-bench-daemon-"));
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  NO_COLOR: "1",
  TRACER_STATE_DIR: join(dir, "state"),
  TRACER_RUNTIME_DIR: join(dir, "run"),
  TRACER_CONFIG_DIR: join(dir, "config"), // no user rules: the embedded defaults only
};

const GEN = `
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  double rate = atof(argv[1]); long total = atol(argv[2]); long inflight = 0;
  double t0 = now();
  for (long i = 0; i < total; i++) {
    double due = t0 + i / rate, d = due - now();
    if (d > 0) { struct timespec s = { (time_t)d, (long)((d - (long)d) * 1e9) }; nanosleep(&s, 0); }
    while (inflight >= 64) { wait(0); inflight--; }
    while (inflight && waitpid(-1, 0, WNOHANG) > 0) inflight--;
    pid_t p = fork();
    if (p == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
    if (p > 0) inflight++;
  }
  while (inflight-- > 0) wait(0);
  return 0;
}
`;
writeFileSync(join(dir, "gen.c"), GEN);
const cc = Bun.spawnSync(["cc", "-O2", "-o", join(dir, "gen"), join(dir, "gen.c")]);
if (cc.exitCode !== 0) throw new Error(`cannot compile the load generator: ${cc.stderr}`);

function tracer(args: string[]): string {
  const r = Bun.spawnSync([bin, ...args], { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tracer ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

interface Usage {
  ticks: number;
  rssKb: number;
}
function usage(pid: number): Usage {
  const s = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
  return { ticks: Number(f[11]) + Number(f[12]), rssKb: Number(rss?.[1] ?? 0) };
}

/** Run the generator for `n` execs at `rate`; resolves with its wall seconds. */
async function generate(n: number): Promise<number> {
  const t0 = performance.now();
  const g = Bun.spawn([join(dir, "gen"), String(rate), String(n)], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if ((await g.exited) !== 0) throw new Error("the load generator failed");
  return (performance.now() - t0) / 1000;
}

const mb = (kb: number) => (kb / 1024).toFixed(1);
const pct = (ticks: number, s: number) => (100 * ticks) / CLK_TCK / s;

try {
  tracer(["init", "--run", "bench-daemon", "--pipeline", "bench"]);
  const daemon = JSON.parse(readFileSync(join(env.TRACER_RUNTIME_DIR!, "daemon.pid"), "utf8")).pid as number;
  let forkstat: ReturnType<typeof Bun.spawn> | undefined;
  if (!values["no-forkstat"] && Bun.which("forkstat"))
    forkstat = Bun.spawn(["forkstat", "-e", "exec,exit"], { stdio: ["ignore", "ignore", "ignore"] });
  await Bun.sleep(1000);
  await generate(Math.min(execs, rate * 2)); // warm-up: JIT, buffers, first pages

  const d0 = usage(daemon);
  const f0 = forkstat ? usage(forkstat.pid) : undefined;
  const rows: string[] = [];
  let wall = 0;
  let peakD = d0.rssKb;
  let peakF = f0?.rssKb ?? 0;
  const slice = Math.ceil(execs / samples);
  for (let done = 0; done < execs; done += slice) {
    wall += await generate(Math.min(slice, execs - done));
    const d = usage(daemon);
    const f = forkstat ? usage(forkstat.pid) : undefined;
    peakD = Math.max(peakD, d.rssKb);
    peakF = Math.max(peakF, f?.rssKb ?? 0);
    // processes of other work on the host that the rules match are recorded too: shown beside RSS
    const info = JSON.parse(tracer(["info", "--json"]));
    const row =
      `  ${String(Math.min(done + slice, execs)).padStart(9)} execs  daemon RSS ${mb(d.rssKb).padStart(6)} MiB` +
      (f ? `  forkstat RSS ${mb(f.rssKb).padStart(5)} MiB` : "") +
      `  (run: ${info.run?.capture?.processes ?? "?"} matched processes recorded)`;
    rows.push(row);
    console.error(row);
  }
  const d1 = usage(daemon);
  const f1 = forkstat ? usage(forkstat.pid) : undefined;
  forkstat?.kill();
  const stopped = JSON.parse(tracer(["stop", "--json"]));

  const dPct = pct(d1.ticks - d0.ticks, wall);
  console.log(
    `daemon with a run active, ${execs} × /bin/true at ${(execs / wall).toFixed(0)}/s achieved (asked ${rate}/s), ${wall.toFixed(1)} s`,
  );
  console.log(rows.join("\n"));
  console.log(
    `daemon:   CPU ${dPct.toFixed(2)} % of a core (${((1e6 * (d1.ticks - d0.ticks)) / CLK_TCK / execs).toFixed(1)} µs/exec), RSS ${mb(d0.rssKb)} → ${mb(d1.rssKb)} MiB (peak ${mb(peakD)})`,
  );
  if (f0 && f1) {
    const fPct = pct(f1.ticks - f0.ticks, wall);
    console.log(
      `forkstat: CPU ${fPct.toFixed(2)} % of a core (${((1e6 * (f1.ticks - f0.ticks)) / CLK_TCK / execs).toFixed(1)} µs/exec), RSS ${mb(f0.rssKb)} → ${mb(f1.rssKb)} MiB (peak ${mb(peakF)})`,
    );
    console.log(
      `ratio daemon/forkstat: CPU ${(dPct / Math.max(fPct, 1e-9)).toFixed(2)}× (target ≤ 1), peak RSS ${(peakD / Math.max(peakF, 1)).toFixed(1)}× (target: ≤ 64 MB, flat)`,
    );
  }
  console.log(
    `run recorded ${stopped.capture.processes} processes, ${stopped.capture.lost} events lost (capture ${stopped.capture.mode})`,
  );
} finally {
  Bun.spawnSync([bin, "terminate"], { env, stdout: "ignore", stderr: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}
