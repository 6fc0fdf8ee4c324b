/**
 * The HTML report at size (issue 17 item 5): a 3,000-process run stays small and renders cleanly; a
 * 3,000-argument command is folded; a run shorter than the sampling interval still has system metrics.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { COMMAND_SHOWN } from "../../src/report/html.ts";
import { niceStep, systemPlot, tickTime } from "../../src/report/_svg.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { openPage } from "./_chromium.ts";
import { PER_STEP, STEPS, recordBigPipeline } from "./_bigpipeline.ts";

afterAll(cleanupTemp);

test("a series of one reading (a run shorter than the sampling interval) is drawn as a dot, not an empty line", () => {
  const one = systemPlot([], [{ at: 1500, kb: 2048 }], "the run's memory", 1000, 2000);
  expect(one).toMatch(/<circle class="dot mem" cx="[\d.]+" cy="[\d.]+" r="3"\/>/);
  const two = systemPlot(
    [],
    [
      { at: 1200, kb: 2048 },
      { at: 1800, kb: 1024 },
    ],
    "the run's memory",
    1000,
    2000,
  );
  expect(two).not.toContain("<circle");
});

test("nice ticks: 1-2-5 steps below a minute, whole minutes and hours above", () => {
  expect(niceStep(1700, 6, [])).toBe(500);
  expect(niceStep(5000, 6, [1000, 2000, 5000])).toBe(1000);
  expect(tickTime(0)).toBe("0");
  expect(tickTime(200)).toBe("200ms");
  expect(tickTime(1500)).toBe("1.5s");
  expect(tickTime(5 * 60_000)).toBe("5m");
  expect(tickTime(90 * 60_000)).toBe("1h30m");
});

describe("a 3,000-process run with 20 steps", () => {
  let html: string;
  let file: string;
  beforeAll(async () => {
    const rec = await recordBigPipeline("big-html");
    file = join(rec.dir, "big.html");
    const r = await run(["report", rec.name, "--format", "html", "--output", file], { env: rec.env });
    expect(r.code).toBe(0);
    html = readFileSync(file, "utf8");
  }, 120_000);

  test("the file stays under 200 KB and renders with no console error in Chromium", async () => {
    const size = statSync(file).size;
    console.log(`HTML of a ${STEPS}-step, ~${STEPS * (PER_STEP + 2)}-process run: ${size} bytes`);
    expect(size).toBeLessThan(200 * 1024);
    const page = await openPage(file);
    try {
      expect(page.errors).toEqual([]);
      const tree = await page.evaluate<string[]>(
        "[...document.querySelectorAll('#tree details')].map(d => d.querySelector('li.more')?.textContent ?? '')",
      );
      // the 20 steps and the pipeline's shell (an "other" step of one process: nothing more to count)
      expect(tree).toHaveLength(STEPS + 1);
      expect(tree.filter((more) => /^… and \d+ more processes$/.test(more))).toHaveLength(STEPS);
    } finally {
      await page.close();
    }
  }, 60_000);

  test("every step is in the tree, the two sort.sh told apart", () => {
    expect(html).toContain("sort.sh #1 — ");
    expect(html).toContain("sort.sh #2 — ");
  });
});

describe("a 3,000-argument command and a run shorter than a second", () => {
  let html: string;
  let file: string;
  beforeAll(async () => {
    await ensureBuilt();
    const dir = tempDir();
    const env = isolatedEnv();
    const args = Array.from({ length: 3000 }, (_, i) => `argument-${i}`);
    const r = await run(["run", "--quiet", "--name", "long", "--", "/bin/echo", ...args], { env, cwd: dir });
    expect(r.code).toBe(0);
    file = join(dir, "long.html");
    expect((await run(["report", "long", "--format", "html", "--output", file], { env })).code).toBe(0);
    html = readFileSync(file, "utf8");
  }, 60_000);

  test("the command is folded: a short summary, the text on demand in <details>, no script", async () => {
    const page = await openPage(file);
    try {
      expect(page.errors).toEqual([]);
      const summary = await page.evaluate<string>(
        "document.querySelector('details.cmd > summary').textContent",
      );
      expect(summary.length).toBeLessThan(COMMAND_SHOWN + 40);
      expect(summary).toStartWith("/bin/echo argument-0 argument-1");
      // folded: the first screen is not filled by it
      const h = await page.evaluate<number>(
        "document.querySelector('details.cmd').getBoundingClientRect().height",
      );
      expect(h).toBeLessThan(60);
      expect(await page.evaluate<string>("document.querySelector('details.cmd').textContent")).toContain(
        "argument-2999",
      );
    } finally {
      await page.close();
    }
  }, 60_000);

  test("a run shorter than the sampling interval has system metrics: one at the start, one at the end", () => {
    expect(html).not.toContain("No system metrics were recorded");
    // the memory line has its two points; the host's CPU % needs two readings a clock tick apart, and a
    // run this short may have none (null: no point drawn, tests/report/host-cpu-unknown.test.ts)
    const mem = html.match(/<polyline class="mem" points="([^"]*)"/)![1]!;
    expect(mem.split(" ").length).toBeGreaterThanOrEqual(2);
  });
});
