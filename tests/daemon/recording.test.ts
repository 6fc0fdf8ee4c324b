import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cProgram } from "../helpers/bigrun.ts";
import { stopDaemon } from "../helpers/daemon.ts";
import { cleanupTemp, isolatedEnv, run, tempDir, waitFor } from "../helpers/harness.ts";

// Daemon mode (init/start/stop): host-wide, only processes a rule matches, plus their descendants.
const dir = tempDir();
const config = join(dir, "config");
mkdirSync(config);
writeFileSync(
  join(config, "rules.yml"),
  "rules:\n  - name: fakealign\n    display_name: fakealign {subcommand}\n    process_name_is: fakealign\n" +
    "  - name: shortalign\n    process_name_is: shortalign\n",
);
const tool = join(dir, "fakealign");
// ten 10 ms children, each with its own argument: shorter than the daemon's 100 ms drain
const shortOnes = Array.from({ length: 10 }, (_, i) => `/bin/sleep 0.01 0.0000${i}\n`).join("");
writeFileSync(tool, `#!/bin/sh\n/bin/sleep 0.3\n${shortOnes}exit 3\n`);
chmodSync(tool, 0o755);
const env = isolatedEnv({ TRACER_CONFIG_DIR: config });
afterAll(async () => {
  await stopDaemon(env);
  cleanupTemp();
});

test("a daemon run records rule-matched processes and their children, nothing else", async () => {
  const init = await run(["init", "--run", "daemon-run", "--pipeline", "p1"], { env });
  expect(init.code).toBe(0);
  const info = JSON.parse((await run(["info", "--json"], { env })).stdout);
  expect(info.run.capture.mode).toBe("connector+taskstats");
  // the human form says what the README promises: the run's capture mode and process count
  const human = (await run(["info"], { env })).stdout;
  expect(human).toMatch(/^run +daemon-run \(pipeline p1, since /m);
  expect(human).toMatch(/^capture +connector\+taskstats, \d+ process(es)?, 0 events lost$/m);

  // launched from outside tracer, as a pipeline would: one matched tool, one unrelated process
  const matched = Bun.spawn([tool, "mem", "ref.fa"], { stdio: ["ignore", "ignore", "ignore"] });
  const unrelated = Bun.spawn(["/bin/sleep", "0.25"], { stdio: ["ignore", "ignore", "ignore"] });
  expect(await matched.exited).toBe(3);
  expect(await unrelated.exited).toBe(0);
  await Bun.sleep(300); // the daemon drains netlink every 100 ms

  const stopped = JSON.parse((await run(["stop", "--json"], { env })).stdout);
  expect(stopped.capture.processes).toBeGreaterThanOrEqual(2);
  expect(stopped.capture.lost).toBe(0);

  const report = JSON.parse((await run(["report", "daemon-run", "--json"], { env })).stdout);
  expect(report.run.pipeline).toBe("p1");
  expect(report.run.status).toBe("done");
  const procs = report.processes as {
    pid: number;
    argv: string[] | null;
    exitCode: number | null;
    parentId: number | null;
    id: number;
  }[];
  const top = procs.find((p) => p.pid === matched.pid);
  expect(top?.argv).toEqual(["/bin/sh", tool, "mem", "ref.fa"]);
  expect(top?.exitCode).toBe(3);
  const child = procs.find((p) => p.argv?.[0] === "/bin/sleep" && p.argv[1] === "0.3");
  // (failed once in CI, not reproduced in 9 runs alone: what was recorded, to tell why if it recurs)
  expect(child?.parentId, JSON.stringify(procs.map((p) => [p.pid, p.parentId, p.argv]))).toBe(top!.id);
  expect(procs.some((p) => p.pid === unrelated.pid)).toBe(false);
  // named by the exec watcher although each ended before the next drain (one may slip on a loaded host)
  const short = procs.filter((p) => p.argv?.[0] === "/bin/sleep" && p.argv[1] === "0.01");
  expect(new Set(short.map((p) => p.argv![2])).size).toBeGreaterThanOrEqual(9);
  for (const p of short) expect(p.parentId).toBe(top!.id);

  const steps = (await run(["report", "daemon-run"], { env })).stdout;
  expect(steps).toContain("fakealign mem");
  expect(steps).toContain("command   (daemon run: processes its rules matched)");
});

// A tool that appends what its own /proc/PID/stat says (pid, parent's pid, start ticks: fields 1, 4
// and 22) to the file $SELF_LOG, then exits 4: the truth a daemon's row of it is checked against.
const SELF_STAT_TOOL = `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  char b[1024], line[128];
  int fd = open("/proc/self/stat", O_RDONLY), n = fd < 0 ? -1 : (int)read(fd, b, sizeof b - 1);
  if (n <= 0) return 1;
  b[n] = 0;
  char *p = strrchr(b, ')');
  int pid = atoi(b), field = 2, ppid = 0;
  unsigned long long start = 0;
  for (; *p; p++)
    if (*p == ' ') {
      field++;
      if (field == 4) ppid = atoi(p + 1);
      if (field == 22) start = strtoull(p + 1, 0, 10);
    }
  int log = open(getenv("SELF_LOG"), O_WRONLY | O_APPEND | O_CREAT, 0600);
  write(log, line, (size_t)snprintf(line, sizeof line, "%d %d %llu\\n", pid, ppid, start));
  return 4;
}
`;

/** A daemon-recorded process, as `report --json` lists it (the fields these tests check). */
type ToolRow = {
  pid: number;
  ppid: number | null;
  startTicks: number;
  argv: string[] | null;
  exitCode: number | null;
};

/** The rows of run `name` whose argv[0] is `tool`. */
async function toolRows(name: string, tool: string, env: Record<string, string>): Promise<ToolRow[]> {
  const report = JSON.parse((await run(["report", name, "--json"], { env })).stdout);
  return (report.processes as ToolRow[]).filter((p) => p.argv?.[0] === tool);
}

/** What each SELF_STAT_TOOL process logged of itself, by pid: its line, parent's pid and start ticks. */
function selfReads(log: string): Map<number, { line: string; ppid: number; start: number }> {
  const out = new Map<number, { line: string; ppid: number; start: number }>();
  for (const line of readFileSync(log, "utf8").trim().split("\n")) {
    const [pid, ppid, start] = line.split(" ").map(Number) as [number, number, number];
    out.set(pid, { line, ppid, start });
  }
  return out;
}

test("short matched tools whose parent no rule matches: recorded with their argv, exit code, parent and start", async () => {
  // A 1 ms tool run by an unmatched shell: its fork is not followed and it is gone when the drain
  // reads its exec, so adopting it from /proc failed: 1-3 of 40 were recorded (2 Dec 2026). The exec
  // watcher's read of the exec is enough for a rule to match it, and the thread's read of
  // /proc/PID/stat right after argv gives the row its parent's pid and exact start ticks (the row had
  // neither: no ppid, start ticks estimated from the exec's time).
  const short = join(dir, "shortalign");
  const cc = Bun.spawnSync(["cc", "-O1", "-x", "c", "-o", short, "-"], { stdin: new Blob([SELF_STAT_TOOL]) });
  expect(cc.exitCode).toBe(0);
  const selfLog = join(dir, "shortalign.log");
  const env5 = isolatedEnv({ TRACER_CONFIG_DIR: config });
  try {
    expect((await run(["init", "--run", "shorts"], { env: env5 })).code).toBe(0);
    const loop = Bun.spawn(["sh", "-c", `for i in $(seq 20); do ${short} $i; done; exit 0`], {
      stdio: ["ignore", "ignore", "ignore"],
      env: { ...process.env, SELF_LOG: selfLog },
    });
    expect(await loop.exited).toBe(0);
    await Bun.sleep(300);
    expect((await run(["stop"], { env: env5 })).code).toBe(0);
    const rows = await toolRows("shorts", short, env5);
    // Each with its own argument and exit code, once. Not always all 20: the watcher's thread (SCHED_FIFO)
    // must read /proc/PID/cmdline before a tool this short is gone, and on a loaded host it can lose
    // that race (1 of 800 beside two busy loops, once 5 of 20 on a busy shared host); without the
    // adoption from its read 1-3 of 40 were recorded.
    const got = rows.map((p) => `${p.argv![1]}:${p.exitCode}`);
    expect(new Set(got).size).toBe(got.length);
    for (const g of got) expect(g).toMatch(/^([1-9]|1\d|20):4$/);
    expect(got.length, JSON.stringify(got)).toBeGreaterThanOrEqual(15);
    // each row's parent and start as the process itself read them from /proc
    const truth = selfReads(selfLog);
    expect(truth.size).toBe(20);
    for (const p of rows) expect(`${p.pid} ${p.ppid} ${p.startTicks}`).toBe(truth.get(p.pid)!.line);
    expect(new Set(rows.map((p) => p.ppid))).toEqual(new Set([loop.pid]));
  } finally {
    await stopDaemon(env5);
  }
});

test("a matched tool still a zombie at the drain, and one orphaned at once: recorded, with the parent that forked it", async () => {
  // A zombie (its parent reaps it late) shows no command line in /proc: its exec was dropped, 0 of 10
  // such tools recorded (an attack, 2 Dec 2026); the watcher's read of the exec now stands in. An
  // orphan's /proc parent is its reaper: the row keeps the parent whose fork the thread saw.
  const short = join(dir, "shortalign"); // built by the test above
  expect(Bun.spawnSync(["test", "-x", short]).exitCode).toBe(0);
  const selfLog = join(dir, "late.log");
  const shells = join(dir, "late.shells");
  const env6 = isolatedEnv({ TRACER_CONFIG_DIR: config });
  try {
    expect((await run(["init", "--run", "late"], { env: env6 })).code).toBe(0);
    // zombies for 300 ms (three of the daemon's drains): their parent execs sleep, which never waits
    const tools = [1, 2, 3, 4, 5].map((i) => `${short} z${i} &`).join(" ");
    const lazy = Bun.spawn(["sh", "-c", `${tools} exec sleep 0.3`], {
      stdio: ["ignore", "ignore", "ignore"],
      env: { ...process.env, SELF_LOG: selfLog },
    });
    expect(await lazy.exited).toBe(0);
    // each forked by a shell that exits at once (it says its pid first)
    for (let i = 1; i <= 5; i++) {
      const orphaning = Bun.spawn(["sh", "-c", `echo $$ >> ${shells}; ${short} o${i} & exit 0`], {
        stdio: ["ignore", "ignore", "ignore"],
        env: { ...process.env, SELF_LOG: selfLog },
      });
      expect(await orphaning.exited).toBe(0);
    }
    await Bun.sleep(400);
    expect((await run(["stop"], { env: env6 })).code).toBe(0);
    const rows = await toolRows("late", short, env6);
    const truth = selfReads(selfLog);
    expect(truth.size).toBe(10);
    const zombies = rows.filter((p) => p.argv![1]!.startsWith("z"));
    expect(zombies.map((p) => p.argv![1]).sort()).toEqual(["z1", "z2", "z3", "z4", "z5"]);
    for (const p of zombies) {
      const { ppid, start } = truth.get(p.pid)!;
      expect([p.ppid, p.startTicks, p.exitCode]).toEqual([lazy.pid, start, 4]);
      expect(ppid).toBe(lazy.pid);
    }
    const parents = readFileSync(shells, "utf8").trim().split("\n").map(Number);
    const orphans = rows.filter((p) => p.argv![1]!.startsWith("o"));
    // (a tool this short may be gone before the thread reads it on a loaded host: see the test above)
    expect(orphans.length).toBeGreaterThanOrEqual(4);
    for (const p of orphans) {
      expect(p.ppid).toBe(parents[Number(p.argv![1]!.slice(1)) - 1]!);
      expect(p.startTicks).toBe(truth.get(p.pid)!.start);
    }
  } finally {
    await stopDaemon(env6);
  }
});

test("a matched tool whose pid a zombie holds by the drain: recorded as itself, not with the zombie's start", async () => {
  // A is read by the watcher's thread, reaped, and 25 ms later its pid is given to Z (clone3 set_tid,
  // root), which stays a zombie past the daemon's next drain: A's exec was adopted on the thread's
  // read, and its row took Z's start ticks from /proc (an attack, 2 Dec 2026: 5 of 5 rounds)
  const short = join(dir, "shortalign"); // built by a test above
  const selfLog = join(dir, "zpid.log");
  const env7 = isolatedEnv({ TRACER_CONFIG_DIR: config });
  try {
    expect((await run(["init", "--run", "zpid"], { env: env7 })).code).toBe(0);
    const z = Bun.spawnSync([cProgram("zombiepid"), "4", short], {
      env: { ...process.env, SELF_LOG: selfLog },
    });
    expect(z.exitCode).toBe(0);
    await Bun.sleep(300);
    expect((await run(["stop"], { env: env7 })).code).toBe(0);
    const zombies = new Set(
      z.stdout
        .toString()
        .trim()
        .split("\n")
        .map((l) => l.split(" ").slice(1).join(" ")),
    );
    expect(zombies.size).toBe(4);
    const truth = selfReads(selfLog);
    const rows = await toolRows("zpid", short, env7);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const p of rows) {
      expect(zombies.has(`${p.pid} ${p.startTicks}`)).toBe(false);
      expect(p.startTicks).toBe(truth.get(p.pid)!.start);
    }
  } finally {
    await stopDaemon(env7);
  }
});

test("a matched tool exec'd seconds after its fork and gone by the drain: its figures, and its start at the fork", async () => {
  // Adopted on the watcher's read, its row started at the exec: taskstats' start (whole seconds) then
  // lay more than 2 s from it and the exit figures were never matched (no CPU, no peak RSS), and the
  // fork → exec part was missing from its duration (a known gap, 2 Dec 2026). The read's start ticks
  // are the fork's.
  const short = join(dir, "shortalign"); // built by a test above
  const selfLog = join(dir, "slow.log");
  const env8 = isolatedEnv({ TRACER_CONFIG_DIR: config });
  try {
    expect((await run(["init", "--run", "slow"], { env: env8 })).code).toBe(0);
    // a subshell that sleeps 2.5 s, then execs the tool: forked by an unmatched shell, not followed
    const slow = Bun.spawn(["sh", "-c", `(sleep 2.5; exec ${short} late) ; exit 0`], {
      stdio: ["ignore", "ignore", "ignore"],
      env: { ...process.env, SELF_LOG: selfLog },
    });
    expect(await slow.exited).toBe(0);
    await Bun.sleep(300);
    expect((await run(["stop"], { env: env8 })).code).toBe(0);
    const report = JSON.parse((await run(["report", "slow", "--json"], { env: env8 })).stdout);
    const rows = (report.processes as (ToolRow & Record<string, unknown>)[]).filter(
      (p) => p.argv?.[0] === short,
    );
    expect(rows.length).toBe(1);
    const row = rows[0]!;
    const truth = selfReads(selfLog).get(row.pid)!;
    expect([row.ppid, row.startTicks, row.exitCode]).toEqual([slow.pid, truth.start, 4]);
    expect(row.figures, JSON.stringify(row)).toBe("taskstats");
    expect(row.userUs).not.toBeNull();
    expect(row.peakRssKb).toBeGreaterThan(0);
    // from the fork (the subshell's start), not the exec 2.5 s later; within the start ticks' 10 ms
    expect(row.durationUs as number).toBeGreaterThan(2_450_000);
    expect((row.execAt as number) - (row.startedAt as number)).toBeGreaterThan(2_450);
  } finally {
    await stopDaemon(env8);
  }
});

test("init --otlp-endpoint: each stopped daemon run reaches the collector, valid against the schema", async () => {
  const { startReceiver } = await import("../export/_receiver.ts");
  const r = startReceiver({ port: 0 });
  const env2 = isolatedEnv({ TRACER_CONFIG_DIR: config });
  try {
    const init = await run(
      ["init", "--run", "exported", "--otlp-endpoint", `http://127.0.0.1:${r.port}`, "--otlp-insecure"],
      {
        env: env2,
      },
    );
    expect(init.code).toBe(0);
    const p = Bun.spawn([tool, "index"], { stdio: ["ignore", "ignore", "ignore"] });
    expect(await p.exited).toBe(3);
    await Bun.sleep(300);
    expect((await run(["stop"], { env: env2 })).code).toBe(0);
    const deadline = Date.now() + 10_000;
    while (!r.spans.some((s) => s.name === "run exported") && Date.now() < deadline) await Bun.sleep(50);
    expect(r.errors).toEqual([]);
    const runSpan = r.spans.find((s) => s.name === "run exported");
    expect(runSpan).toBeDefined();
    const mine = r.spans.filter((s) => s.traceId === runSpan!.traceId);
    expect(mine.some((s) => s.attributes["process.exit.code"] === "3")).toBe(true);
    // the daemon logs its summary only after the export has finished (after the collector answered and
    // the outbox was closed), so the spans can be here before the line is written: wait for the line
    const line = /otlp: (\d+) of (\d+) spans? sent/;
    let logs = "";
    await waitFor(
      async () => {
        logs = (await run(["logs", "-n", "20"], { env: env2 })).stdout;
        return line.test(logs);
      },
      10_000,
      "the daemon's otlp summary line",
    );
    // all of this run's spans were sent, and the line counts them (the export is over: all arrived)
    const all = r.spans.filter((s) => s.traceId === runSpan!.traceId).length;
    expect(line.exec(logs)!.slice(1).map(Number)).toEqual([all, all]);
  } finally {
    await stopDaemon(env2);
    r.stop();
  }
});

test("init refuses a plain-http endpoint without --otlp-insecure before starting anything", async () => {
  const env3 = isolatedEnv();
  const r = await run(["init", "--otlp-endpoint", "http://127.0.0.1:4318"], { env: env3 });
  expect(r.code).toBe(3);
  expect((await run(["info"], { env: env3 })).code).toBe(4);
});

test("collector down for one daemon run, up for the next: both runs arrive exactly once, daemon alive", async () => {
  const { startReceiver } = await import("../export/_receiver.ts");
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true); // nothing listens there now
  const env4 = isolatedEnv({ TRACER_CONFIG_DIR: config });
  const endpoint = ["--otlp-endpoint", `http://127.0.0.1:${port}`, "--otlp-insecure"];
  try {
    expect((await run(["init", "--run", "while-down", ...endpoint], { env: env4 })).code).toBe(0);
    expect(await Bun.spawn([tool, "a"], { stdio: ["ignore", "ignore", "ignore"] }).exited).toBe(3);
    await Bun.sleep(300);
    expect((await run(["stop"], { env: env4 })).code).toBe(0);
    const logs = async () => (await run(["logs", "-n", "50"], { env: env4 })).stdout;
    const until = async (re: RegExp) => {
      const end = Date.now() + 10_000;
      while (!re.test(await logs()) && Date.now() < end) await Bun.sleep(100);
    };
    await until(/queued for later/);
    expect(await logs()).toMatch(/otlp: 0 of \d+ spans? sent, \d+ queued for later/);

    const r = startReceiver({ port });
    try {
      expect((await run(["start", "--run", "when-up"], { env: env4 })).code).toBe(0);
      expect(await Bun.spawn([tool, "b"], { stdio: ["ignore", "ignore", "ignore"] }).exited).toBe(3);
      await Bun.sleep(300);
      expect((await run(["stop"], { env: env4 })).code).toBe(0);
      const end = Date.now() + 10_000;
      while (r.spans.filter((s) => s.name.startsWith("run ")).length < 2 && Date.now() < end)
        await Bun.sleep(50);
      expect(r.errors).toEqual([]);
      const runs = r.spans.filter((s) => s.name.startsWith("run ")).map((s) => s.name);
      expect(runs.sort()).toEqual(["run when-up", "run while-down"]);
      const ids = r.spans.map((s) => s.spanId);
      expect(new Set(ids).size).toBe(ids.length);
      // the second run's summary counts its own spans and the first run's backlog apart
      const count = (name: string) => {
        const t = r.spans.find((s) => s.name === `run ${name}`)?.traceId;
        return r.spans.filter((s) => s.traceId === t).length;
      };
      const drained = /otlp: (\d+) of (\d+) spans? sent; earlier backlog: (\d+) spans? sent/;
      await until(drained);
      expect(
        drained
          .exec(await logs())!
          .slice(1)
          .map(Number),
      ).toEqual([count("when-up"), count("when-up"), count("while-down")]);
      expect((await run(["info"], { env: env4 })).code).toBe(0);
    } finally {
      r.stop();
    }
  } finally {
    await stopDaemon(env4);
  }
});
