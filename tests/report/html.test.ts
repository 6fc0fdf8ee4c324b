/** The HTML report opened in real headless Chromium (Debian `chromium`) over the DevTools protocol. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Page, openPage } from "./_chromium.ts";
import { cleanupTemp, run } from "../helpers/harness.ts";
import { type Recorded, recordPipeline } from "./_pipeline.ts";

let rec: Recorded;
let file: string;
let page: Page;
let steps: { name: string; failed: boolean }[];
beforeAll(async () => {
  rec = await recordPipeline("html-test");
  file = join(rec.dir, "report.html");
  const r = await run(["report", "--format", "html", "--output", file], { env: rec.env });
  expect(r.code).toBe(0);
  steps = JSON.parse((await run(["report", "--format", "json"], { env: rec.env })).stdout).steps;
  page = await openPage(file);
});
afterAll(async () => {
  await page?.close();
  cleanupTemp();
});

test("one self-contained file under 1 MB: no script, no external resource, a CSP that forbids loading any", () => {
  const html = readFileSync(file, "utf8");
  expect(statSync(file).size).toBeLessThan(1024 * 1024);
  expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(/i);
});

test("renders in Chromium without console errors, exceptions or failed loads", async () => {
  expect(await page.evaluate<string>("document.title")).toBe("tracer report: html-test");
  expect(page.errors).toEqual([]);
});

test("the timeline has one bar per step, failures highlighted", async () => {
  // the pipeline's steps as the JSON report has them (tests/report/formats.test.ts checks their names)
  expect(steps.length).toBeGreaterThanOrEqual(3);
  expect(await page.evaluate<number>("document.querySelectorAll('#timeline rect.bar').length")).toBe(
    steps.length,
  );
  const failed = await page.evaluate<string[]>(
    "[...document.querySelectorAll('#timeline rect.bar.failed')].map(r => r.dataset.step)",
  );
  expect(failed).toEqual(steps.flatMap((s, i) => (s.failed ? [String(i + 1)] : [])));
  const color = await page.evaluate<string>(
    "getComputedStyle(document.querySelector('#timeline rect.bar.failed')).fill",
  );
  expect(color).toBe("rgb(209, 36, 47)");
  // bars are laid out: each visible, and later steps start further right
  const xs = await page.evaluate<number[]>(
    "[...document.querySelectorAll('#timeline rect.bar')].map(r => r.getBoundingClientRect().width > 0 ? r.x.baseVal.value : -1)",
  );
  expect(xs.every((x) => x >= 0)).toBe(true);
  expect([...xs].sort((a, b) => a - b)).toEqual(xs);
});

test("per-step CPU and memory bars, the host plot and the summary table are there", async () => {
  const counts = await page.evaluate<number[]>(
    "['#cpu-bars rect', '#mem-bars rect', '#system polyline.cpu', '#steps tbody tr', '#steps tr.failed'].map(s => document.querySelectorAll(s).length)",
  );
  const n = steps.length;
  expect(counts).toEqual([n, n, 1, n, 1]);
  const points = await page.evaluate<number>("document.querySelector('#system polyline.cpu').points.length");
  expect(points).toBeGreaterThan(1);
  // every step of the run is named in the table (whether summarize.py is a step depends on the capture
  // reading its argv before it ends: see formats.test.ts)
  const table = await page.evaluate<string>("document.querySelector('#steps tbody').textContent");
  for (const st of steps) expect(table).toContain(st.name);
});

test("the error collector itself sees a console error (control)", async () => {
  const bad = join(rec.dir, "bad.html");
  writeFileSync(bad, "<!doctype html><title>x</title><script>console.error('boom')</script>");
  const p = await openPage(bad);
  try {
    expect(p.errors.join("\n")).toContain("boom");
  } finally {
    await p.close();
  }
});

test("same-named steps are told apart (sort #1, sort #2) in the charts, the table and the process tree", async () => {
  const labels = await page.evaluate<string[]>(
    "[...document.querySelectorAll('#timeline text.label')].map(t => t.textContent)",
  );
  expect(labels.filter((l) => /^\d+\. sort #[12]$/.test(l))).toHaveLength(2);
  const table = await page.evaluate<string>("document.querySelector('#steps tbody').textContent");
  expect(table).toContain("sort #1");
  expect(table).toContain("sort #2");
  const tree = await page.evaluate<string[]>(
    "[...document.querySelectorAll('#tree details > summary')].map(s => s.textContent)",
  );
  expect(tree).toHaveLength(steps.length);
  expect(tree.some((s) => s.includes("sort #2") && s.includes("FAILED"))).toBe(true);
  // folded by default, a step's processes are in the page and open on a click (no script)
  expect(await page.evaluate<number>("document.querySelectorAll('#tree details[open]').length")).toBe(0);
  expect(await page.evaluate<number>("document.querySelectorAll('#tree details li').length")).toBeGreaterThan(
    0,
  );
});

test("time ticks are round (0, 200ms, 400ms … / 0, 1s, 2s …), evenly spaced", async () => {
  const ticks = await page.evaluate<string[]>(
    "[...document.querySelectorAll('#timeline text.tick')].map(t => t.textContent)",
  );
  expect(ticks[0]).toBe("0");
  expect(ticks.length).toBeGreaterThanOrEqual(3);
  const ms = ticks.map((t) =>
    t === "0" ? 0 : t.endsWith("ms") ? Number(t.slice(0, -2)) : Number(t.slice(0, -1)) * 1000,
  );
  const step = ms[1]!;
  expect(String(step)).toMatch(/^(1|2|5)0*$/);
  for (const [i, v] of ms.entries()) expect(v).toBeCloseTo(i * step, 6);
});

test("the memory line is scaled to the run's peak, not the host's total", async () => {
  const ys = await page.evaluate<number[]>(
    "[...document.querySelector('#system polyline.mem').points].map(p => p.y)",
  );
  expect(ys.length).toBeGreaterThan(1);
  // the plot is 160 high (y grows downwards): the peak reaches at least 40% of it
  expect(Math.min(...ys)).toBeLessThan(160 * 0.6);
  const legend = await page.evaluate<string>("document.querySelector('#system .legend.mem').textContent");
  expect(legend).toContain("the run's memory");
});
