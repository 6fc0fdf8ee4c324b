/**
 * `tracer top RUN` into a pipe against `tracer report` and `tracer runs` on real recorded runs: an
 * ended step of two processes alive together shows the peak RSS the report shows (not its largest
 * process's), and each run is shown by the id `tracer runs` shows, one `tracer report` accepts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

/** the real interpreter (not a version manager's shim), or undefined without python3 */
const python = (() => {
  const r = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"]);
  return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
})();
if (!python) console.warn("skipping the two-process step test: python3 is not installed");

/** the RSS column of step `name`'s row in a top snapshot */
function topCell(out: string, name: string): string {
  const row = out.split("\n").find((l) => new RegExp(`^\\s+\\d+\\s+${name}\\s+done\\s`).test(l));
  if (!row) throw new Error(`no done row for ${name}; top printed:\n${out}`);
  // #, STEP, STATE, ELAPSED, CPU%, RSS, …
  return row.trim().split(/\s+/)[5]!;
}

/** the PEAK RSS cell and PROCS of step `name`'s row in a report table */
function reportCells(out: string, name: string): { peak: string; procs: number } {
  const row = out.split("\n").find((l) => /^\d+\s+\+/.test(l) && l.trimEnd().endsWith(`  ${name}`));
  if (!row) throw new Error(`no step row for ${name}; report printed:\n${out}`);
  // #, START, WALL, EXIT, CPU, PEAK RSS, READ, WRITE, DISK READ, DISK WRITE, PROCS, STEP
  const cells = row.trim().split(/\s+/);
  return { peak: cells[5]!, procs: Number(cells[10]) };
}

const mib = (s: string) => {
  const m = /^([\d.]+)(KiB|MiB|GiB)$/.exec(s);
  if (!m) throw new Error(`not a size: ${s}`);
  return Number(m[1]) * { KiB: 1 / 1024, MiB: 1, GiB: 1024 }[m[2] as "KiB" | "MiB" | "GiB"];
};

test.skipIf(!python)(
  "an ended step of two processes alive together: top shows the step's peak RSS as tracer report does",
  async () => {
    const env = isolatedEnv();
    // two interpreters alive together for a second: ~89 MiB and ~69 MiB, ~158 MiB summed
    const a = `'${python}' -c "b=bytearray(80<<20); import time; time.sleep(1.5)"`;
    const b = `'${python}' -c "b=bytearray(60<<20); import sys,time; time.sleep(1.5); sys.stdin.read()"`;
    const rec = await run(["run", "--name", "two", "--", "sh", "-c", `${a} | ${b}`], { env });
    expect(rec.code).toBe(0);
    const top = await run(["top", "two"], { env });
    expect(top.code).toBe(0);
    const report = await run(["report", "two"], { env });
    expect(report.code).toBe(0);
    const reported = reportCells(report.stdout, "python3");
    expect(reported.procs).toBe(2);
    const shown = topCell(top.stdout, "python3");
    expect(shown).toBe(reported.peak);
    // sampled together, or the range up to their sum: either way past the larger one's ~89 MiB alone
    expect(mib(shown.split("–").at(-1)!)).toBeGreaterThan(130);
  },
  60_000,
);

test("runs started together show distinct ids in top, the ids tracer runs shows and report accepts", async () => {
  const env = isolatedEnv();
  for (const name of ["first", "second"])
    expect((await run(["run", "--name", name, "--", "true"], { env })).code).toBe(0);
  const listed = (await run(["runs"], { env })).stdout;
  const ids: string[] = [];
  for (const name of ["first", "second"]) {
    const out = (await run(["top", name], { env })).stdout;
    const id = new RegExp(`^run ${name} \\(([^)]+)\\)`, "m").exec(out)?.[1];
    if (!id) throw new Error(`no run line for ${name}; top printed:\n${out}`);
    ids.push(id);
    // the ID column of `tracer runs`
    expect(listed).toMatch(new RegExp(`^${id}\\s+${name}\\s`, "m"));
    const report = await run(["report", id], { env });
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(new RegExp(`^run\\s+${name} \\(${id}`, "m"));
  }
  expect(ids[0]).not.toBe(ids[1]);
}, 60_000);

test.skipIf(!python)(
  "a snapshot waits for its running processes' I/O rates: a step reading and writing steadily shows one, not -",
  async () => {
    const env = isolatedEnv();
    // 64 KiB read and written every 0.1 s for 20 s: ~1.2 MiB/s of rchar + wchar
    const loop = [
      "import time",
      "f = open('/dev/null', 'wb', buffering=0); z = open('/dev/zero', 'rb', buffering=0)",
      "for _ in range(200): f.write(z.read(65536)); time.sleep(0.1)",
    ].join("\n");
    const rec = Bun.spawn([BIN, "run", "--quiet", "--name", "io", "--", python!, "-c", loop], {
      env,
      stdio: ["ignore", "ignore", "ignore"],
    });
    try {
      // recorded for a while: a sample or two in the store
      await Bun.sleep(1500);
      const top = await run(["top", "io"], { env });
      expect(top.code).toBe(0);
      const row = top.stdout.split("\n").find((l) => /^\s+\d+\s+python3\s+running\s/.test(l));
      if (!row) throw new Error(`no running python3 row; top printed:\n${top.stdout}`);
      // #, STEP, STATE, ELAPSED, CPU%, RSS, I/O, …: a size per second, not "-"
      expect(row.trim().split(/\s+/)[6]!).toMatch(/^[\d.]+(B|KiB|MiB)\/s$/);
    } finally {
      rec.kill("SIGTERM");
      await rec.exited;
    }
  },
  30_000,
);
