/**
 * The host's CPU % of a run's first system reading is unknown (nothing earlier to compare with): it is
 * stored as null, not 0, and every reader keeps it unknown — `report --format json`'s `system`, the
 * HTML report's host-CPU line (no point at 0 %) and `tracer top`'s host line ("-").
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanupTemp, ensureBuilt, isolatedEnv, run } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

interface SystemJson {
  at: string;
  cpu_pct: number | null;
}

/** the points the chart draws: two for a known reading after another, one for a known first */
const drawn = (system: SystemJson[]) =>
  system.reduce((n, p, i) => n + (p.cpu_pct === null ? 0 : i > 0 ? 2 : 1), 0);

async function hostCpu(env: Record<string, string>, name: string) {
  const json = await run(["report", name, "--format", "json"], { env });
  expect(json.code).toBe(0);
  const system = (JSON.parse(json.stdout) as { system: SystemJson[] }).system;
  const html = await run(["report", name, "--format", "html"], { env });
  expect(html.code).toBe(0);
  const line = /<polyline class="cpu" points="([^"]*)"\/>/.exec(html.stdout);
  if (!line) throw new Error("no host CPU line in the HTML report");
  const points = line[1]!.split(" ").filter(Boolean);
  return { system, points };
}

test("a run shorter than the sampling interval: its first host CPU % is unknown everywhere, never 0", async () => {
  const env = isolatedEnv();
  expect((await run(["run", "--name", "short", "--", "true"], { env })).code).toBe(0);
  const { system, points } = await hostCpu(env, "short");
  // its two points, at its start and at its end: from one reading (both unknown), or on a loaded host
  // where `true` outlived the sampler's start-up delay, from the sampler (the first unknown)
  expect(system.length).toBeGreaterThanOrEqual(2);
  expect(system[0]!.cpu_pct).toBeNull();
  // each known reading drawn across its interval from the reading before it (two points), none for an unknown one
  expect(points.length).toBe(drawn(system));
  const top = await run(["top", "short"], { env });
  expect(top.code).toBe(0);
  expect(top.stdout).toMatch(system.at(-1)!.cpu_pct === null ? /^host cpu - · mem /m : /^host cpu \d/m);
});

test("a sampled run: the host CPU % readings are known once a clock tick passed; the chart plots only the known ones", async () => {
  const env = isolatedEnv();
  expect(
    (await run(["run", "--name", "sampled", "--interval", "0.2", "--", "sleep", "1.2"], { env })).code,
  ).toBe(0);
  const { system, points } = await hostCpu(env, "sampled");
  expect(system.length).toBeGreaterThanOrEqual(4);
  // the sampler's first reading compares with one taken as it was made (unknown when within the same
  // clock tick); a later one with the reading before it, known once a tick has passed
  const known = system.filter((p) => p.cpu_pct !== null);
  expect(known.length).toBeGreaterThanOrEqual(system.length - 2);
  for (const p of known) {
    expect(p.cpu_pct!).toBeGreaterThanOrEqual(0);
    expect(p.cpu_pct!).toBeLessThanOrEqual(100);
  }
  // each known reading drawn across the interval it covers, from the reading before it (two points),
  // none for an unknown one: the line starts at the first reading, the run's start, not at the second
  expect(points.length).toBe(drawn(system));
  // the times the points stand for: a known reading's interval, from the reading before it to it
  const times: number[] = [];
  system.forEach((p, i) => {
    if (p.cpu_pct === null) return;
    if (i > 0) times.push(Date.parse(system[i - 1]!.at));
    times.push(Date.parse(p.at));
  });
  // x is linear in time (to the drawing's 0.1 px rounding): each point sits where its time says
  const xs = points.map((p) => Number(p.split(",")[0]));
  const perMs = (xs.at(-1)! - xs[0]!) / (times.at(-1)! - times[0]!);
  for (let k = 0; k < xs.length; k++)
    expect(Math.abs(xs[k]! - xs[0]! - (times[k]! - times[0]!) * perMs)).toBeLessThan(0.5);
  // and the line begins at the first reading, taken at the run's start
  expect(times[0]).toBe(Date.parse(system[0]!.at));
});
