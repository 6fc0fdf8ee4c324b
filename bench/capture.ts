#!/usr/bin/env bun
/**
 * Completeness of capture under a burst: N fork+exec of /bin/true (default 20,000) from two shell
 * loops, as fast as two cores allow, watched at the same time by tracer's proc connector and taskstats
 * sources and by forkstat (Debian), the reference. Prints what each captured, the ratios to the truth
 * and to forkstat, and tracer's loss count beside the true shortfall (they must be equal).
 *
 *   bun bench/capture.ts [--count 20000] [--rcvbuf BYTES] [--no-forkstat]
 * Needs root (taskstats; forkstat). `--rcvbuf 200000` forces loss to check the loss accounting.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConnectorSource, SeqAudit } from "../src/observe/connector.ts";
import { TaskstatsSource } from "../src/observe/taskstats.ts";
import type { CaptureEvent, ExitFigures } from "../src/observe/types.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "20000" },
    rcvbuf: { type: "string" },
    "no-forkstat": { type: "boolean" },
  },
});
const total = Number(values.count);
const perLoop = Math.ceil(total / 2);
const rcvbuf = values.rcvbuf ? Number(values.rcvbuf) : undefined;

interface Tally {
  forks: number;
  execs: number;
  exits: number;
  codes: Map<string, number>;
}
const tally = (): Tally => ({ forks: 0, execs: 0, exits: 0, codes: new Map() });
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const codes = (m: Map<string, number>) => [...m].map(([k, v]) => `${k}×${v}`).join(" ") || "-";

/** Children of the driver loops, known from their fork event or their taskstats parent. */
function tallyTracer(events: CaptureEvent[], drivers: Set<number>, kids: Set<number>): Tally {
  const t = tally();
  for (const e of events) if (e.type === "fork" && drivers.has(e.ptgid)) kids.add(e.tgid);
  for (const e of events) {
    if (e.type === "fork" && drivers.has(e.ptgid)) t.forks++;
    else if (e.type === "exec" && kids.has(e.tgid)) t.execs++;
    else if (e.type === "exit" && kids.has(e.tgid)) {
      t.exits++;
      bump(t.codes, e.signal === undefined ? `exit ${e.exitCode}` : `signal ${e.signal}`);
    }
  }
  return t;
}

/** forkstat prints "fork PPID parent" then "fork PID child"; exits carry the raw wait status. */
function tallyForkstat(text: string, drivers: Set<number>): Tally {
  const t = tally();
  const kids = new Set<number>();
  let parent = 0;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    const [, event, pidText, info] = f;
    const pid = Number(pidText);
    if (event === "fork" && info === "parent") parent = pid;
    else if (event === "fork" && info === "child") {
      if (drivers.has(parent)) {
        kids.add(pid);
        t.forks++;
      }
      parent = 0;
    } else if (event === "exec" && kids.has(pid)) t.execs++;
    else if (event === "exit" && kids.has(pid)) {
      t.exits++;
      const status = Number(info);
      bump(t.codes, (status & 0x7f) === 0 ? `exit ${status >> 8}` : `signal ${status & 0x7f}`);
    }
  }
  return t;
}

const cpuSec = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};

const dir = mkdtempSync(join(tmpdir(), "tracer-bench-"));
try {
  // the audit: a second, default-sized listener whose messages show what the first one missed
  const audit = new SeqAudit();
  const reference = new ConnectorSource({ onMessage: audit.reference });
  await reference.start();
  const connector = new ConnectorSource({ receiveBufferBytes: rcvbuf, onMessage: audit.subject });
  const taskstats = new TaskstatsSource({ receiveBufferBytes: rcvbuf });
  const events: CaptureEvent[] = [];
  const figures: ExitFigures[] = [];
  connector.onEvent((e) => events.push(e));
  taskstats.onEvent((e) => events.push(e));
  taskstats.onExitFigures((f) => figures.push(f));
  await connector.start();
  await taskstats.start();

  let forkstat: ReturnType<typeof Bun.spawn> | undefined;
  const fsOut = join(dir, "forkstat.out");
  if (!values["no-forkstat"] && Bun.which("forkstat")) {
    forkstat = Bun.spawn(["forkstat", "-e", "fork,exec,exit", "-l"], {
      stdout: Bun.file(fsOut),
      stderr: "ignore",
    });
    await Bun.sleep(500); // let it subscribe
  } else console.error("forkstat not run (missing or --no-forkstat)");

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loop = `i=0; while [ $i -lt ${perLoop} ]; do /bin/true; i=$((i+1)); done`;
  const loops = [Bun.spawn(["sh", "-c", loop]), Bun.spawn(["sh", "-c", loop])];
  await Promise.all(loops.map((p) => p.exited));
  const wall = (performance.now() - t0) / 1000;
  await Bun.sleep(500);
  await connector.stop();
  await reference.stop();
  await taskstats.stop();
  const cpu = process.cpuUsage(cpu0);
  const tracerCpu = (cpu.user + cpu.system) / 1e6;
  let forkstatCpu = Number.NaN;
  if (forkstat) {
    forkstatCpu = cpuSec(forkstat.pid);
    forkstat.kill("SIGINT");
    await forkstat.exited;
  }

  const drivers = new Set(loops.map((p) => p.pid));
  const n = perLoop * 2;
  const ts = figures.filter((f) => f.ppid !== undefined && drivers.has(f.ppid));
  const tr = tallyTracer(events, drivers, new Set(ts.map((f) => f.tgid)));
  const tsCodes = new Map<string, number>();
  for (const f of ts) bump(tsCodes, f.signal === undefined ? `exit ${f.exitCode}` : `signal ${f.signal}`);
  const fs = forkstat ? tallyForkstat(readFileSync(fsOut, "utf8"), drivers) : undefined;

  const pct = (x: number) => `${((100 * x) / n).toFixed(2)} %`;
  const row = (name: string, t: Tally | undefined) =>
    t
      ? `${name.padEnd(22)} forks ${String(t.forks).padStart(6)}  execs ${String(t.execs).padStart(6)} (${pct(t.execs)})  exits ${String(t.exits).padStart(6)} (${pct(t.exits)})  ${codes(t.codes)}`
      : `${name.padEnd(22)} not run`;
  const cs = connector.stats();
  const shortfall = 3 * n - (tr.forks + tr.execs + tr.exits);
  console.log(`burst: ${n} fork+exec of /bin/true in ${wall.toFixed(2)} s (${Math.round(n / wall)}/s)`);
  console.log(
    `receive buffer: ${connector.receiveBufferBytes} bytes (connector), ${taskstats.receiveBufferBytes} (taskstats)`,
  );
  console.log(row("tracer proc connector", tr));
  console.log(
    `${"tracer taskstats".padEnd(22)} exit figures ${ts.length} (${pct(ts.length)})  ${codes(tsCodes)}  lost ${taskstats.stats().lost}`,
  );
  console.log(row("forkstat (reference)", fs));
  if (fs)
    console.log(
      `ratio tracer/forkstat: execs ${(tr.execs / Math.max(1, fs.execs)).toFixed(3)}, exits ${(tr.exits / Math.max(1, fs.exits)).toFixed(3)}`,
    );
  const verdict = (a: number, b: number) => (a === b ? "equal" : a > b ? "reported more" : "UNDER-REPORTED");
  console.log(
    `connector loss: reported ${cs.lost} ${JSON.stringify(cs.lossReasons)}; the burst's true shortfall ${shortfall} (its forks+execs+exits) → ${verdict(cs.lost, shortfall)}${cs.lost > shortfall ? " (other processes' events were lost too)" : ""}`,
  );
  const rl = reference.stats().lost;
  console.log(
    `audit vs a second 32 MiB listener (lost ${rl}${rl ? ": audit void" : ""}): all messages missed in the same per-CPU windows ${audit.shortfall()} → ${verdict(cs.lost, audit.shortfall())}`,
  );
  console.log(
    `CPU: tracer ${tracerCpu.toFixed(2)} s (this process: both sources + the audit listener, ${events.length} events)` +
      (forkstat
        ? `; forkstat ${forkstatCpu.toFixed(2)} s; ratio ${(tracerCpu / forkstatCpu).toFixed(2)}`
        : ""),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
