/** Hand-written SVG charts for the HTML report: no library, no script, a few kilobytes each. */
import { sanitize } from "../core/sanitize.ts";
import { bytes } from "../run/units.ts";
import { maxOf } from "../steps/_rollup.ts";
import type { Step } from "../steps/index.ts";
import type { SystemPoint } from "./types.ts";

/** Text for HTML: sanitised first (no control, bidi override or invisible character: src/core/sanitize.ts), then escaped. */
export const esc = (s: string) =>
  sanitize(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
const f = (n: number) => (Math.round(n * 10) / 10).toString();

const W = 960;
const LABEL = 240;
const ROW = 22;
const PLOT = W - LABEL - 20;

const S = 1000;
const M = 60 * S;
const H = 60 * M;
/** tick steps for a time axis, ms: 1-2-5 below a minute, then whole minutes and hours */
const TIME_STEPS = [
  ...[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 30_000],
  ...[M, 2 * M, 5 * M, 10 * M, 15 * M, 30 * M, H, 2 * H, 3 * H, 6 * H, 12 * H, 24 * H],
];

/** The smallest step of `steps` giving at most `max` intervals over `span` (1-2-5 × 10^k past the list). */
export function niceStep(span: number, max = 6, steps: number[] = []): number {
  const raw = span / max;
  for (const s of steps) if (s >= raw) return s;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** Tick values 0, step, 2·step… up to `span`. */
export const ticksOf = (span: number, step: number): number[] =>
  Array.from({ length: Math.floor(span / step + 1e-9) + 1 }, (_, i) => i * step);

/** A time axis with ticks at nice round times (0, 200ms, 400ms… / 0, 1m, 2m…). */
function axis(spanMs: number, height: number): string {
  const ticks: string[] = [];
  for (const t of ticksOf(spanMs, niceStep(spanMs, 6, TIME_STEPS))) {
    const x = LABEL + (PLOT * t) / spanMs;
    ticks.push(
      `<line class="grid" x1="${f(x)}" y1="0" x2="${f(x)}" y2="${height}"/>`,
      `<text class="tick" x="${f(x)}" y="${height + 14}" text-anchor="middle">${esc(tickTime(t))}</text>`,
    );
  }
  return ticks.join("");
}

/** A tick's time: "0", "500ms", "1.5s", "2m", "1h30m" */
export function tickTime(ms: number): string {
  if (ms === 0) return "0";
  if (ms < S) return `${Math.round(ms)}ms`;
  if (ms < M) return `${Math.round(ms) / S}s`;
  if (ms < H) return `${Math.floor(ms / M)}m${ms % M ? `${Math.round((ms % M) / S)}s` : ""}`;
  return `${Math.floor(ms / H)}h${ms % H ? `${Math.round((ms % H) / M)}m` : ""}`;
}

const secs = (ms: number) =>
  ms < 1000
    ? `${Math.round(ms)}ms`
    : ms < 10_000
      ? `${(ms / 1000).toFixed(1)}s`
      : `${Math.round(ms / 1000)}s`;
const label = (s: Step, y: number, name: string) =>
  `<text class="label" x="${LABEL - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${esc(`${s.index}. ${name}`.slice(0, 40))}</text>`;

/**
 * Gantt: one bar per step from its start to its end (to the run's end while it runs). An `other` step
 * with a busy profile gets a thin line over its extent and, in each pixel column, a bar as high as the
 * share of that column in which one of its processes ran (at least 2 px): the bars' area is its wall,
 * not its extent.
 */
export function gantt(steps: Step[], t0: number, t1: number, names = steps.map((s) => s.name)): string {
  const span = Math.max(1, t1 - t0);
  const h = steps.length * ROW;
  const px = (ms: number) => (PLOT * ms) / span;
  const bars = steps.map((s, i) => {
    const y = i * ROW;
    const x = LABEL + px(s.startedAt - t0);
    const w = Math.max(2, px((s.endedAt ?? t1) - s.startedAt));
    const tip = `${names[i]}: ${s.durationMs === null ? "running" : secs(s.durationMs)}${s.failed ? ", FAILED" : ""}`;
    const cls = `bar${s.failed ? " failed" : ""}`;
    const title = `<title>${esc(tip)}</title>`;
    const profile = s.busyProfile;
    if (!profile)
      return `${label(s, y, names[i]!)}<rect class="${cls}" data-step="${s.index}" x="${f(x)}" y="${y + 3}" width="${f(w)}" height="${ROW - 6}" rx="3">${title}</rect>`;
    const x0 = LABEL + px(profile.from - t0);
    const parts = [
      `<rect class="extent" x="${f(x0)}" y="${y + ROW / 2 - 1}" width="${f(Math.max(1, px(profile.to - profile.from)))}" height="2"/>`,
    ];
    for (const c of columns(profile.fill, px(profile.to - profile.from))) {
      // at least 2 px high and 1 px wide: a short step on a long timeline stays visible (its tooltip
      // gives the figure)
      const hh = Math.max(2, (ROW - 6) * c.fill);
      parts.push(
        `<rect class="${cls}" x="${f(x0 + c.x)}" y="${f(y + ROW - 3 - hh)}" width="${f(Math.max(1, c.w))}" height="${f(hh)}"/>`,
      );
    }
    return `${label(s, y, names[i]!)}<g data-step="${s.index}">${title}${parts.join("")}</g>`;
  });
  return `<svg id="timeline" viewBox="0 0 ${W} ${h + 24}" width="${W}" height="${h + 24}" role="img" aria-label="timeline of steps">${axis(span, h)}${bars.join("")}</svg>`;
}

/**
 * A busy profile's shares (even buckets over `width` px) as bars of at most one pixel column each
 * (buckets averaged into columns when they are narrower), runs of one share merged, empty ones left out.
 */
function columns(fill: ArrayLike<number>, width: number): { x: number; w: number; fill: number }[] {
  const n = fill.length;
  const cols = Math.max(1, Math.min(n, Math.floor(width)));
  const cw = width / cols;
  const out: { x: number; w: number; fill: number }[] = [];
  for (let c = 0; c < cols; c++) {
    const a = Math.floor((c * n) / cols);
    const b = Math.floor(((c + 1) * n) / cols);
    let sum = 0;
    for (let k = a; k < b; k++) sum += fill[k]!;
    const share = Math.round((sum / (b - a)) * 1000) / 1000;
    const prev = out.at(-1);
    if (share === 0) continue;
    if (prev && prev.fill === share && Math.abs(prev.x + prev.w - c * cw) < 1e-6) prev.w += cw;
    else out.push({ x: c * cw, w: cw, fill: share });
  }
  return out;
}

/** Horizontal bars of one figure per step. */
export function stepBars(
  id: string,
  steps: Step[],
  value: (s: Step) => number,
  fmt: (v: number) => string,
  names = steps.map((s) => s.name),
): string {
  const max = maxOf(steps.map(value), 1e-9);
  const h = steps.length * ROW;
  const bars = steps.map((s, i) => {
    const y = i * ROW;
    const v = value(s);
    const w = Math.max(1, ((PLOT - 80) * v) / max);
    return `${label(s, y, names[i]!)}<rect class="metric${s.failed ? " failed" : ""}" x="${LABEL}" y="${y + 4}" width="${f(w)}" height="${ROW - 8}" rx="2"><title>${esc(`${names[i]}: ${fmt(v)}`)}</title></rect><text class="value" x="${f(LABEL + w + 6)}" y="${y + ROW / 2 + 4}">${esc(fmt(v))}</text>`;
  });
  return `<svg id="${id}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img">${bars.join("")}</svg>`;
}

/** 1-2-5 steps in binary units (1KiB, 2KiB, 5KiB … 1MiB …) for a byte axis up to `max`. */
function byteStep(max: number): number {
  let unit = 1;
  while (max / unit >= 1024) unit *= 1024;
  return niceStep(max / unit, 4) * unit;
}

/**
 * The host's CPU % (0–100 %) and memory over the run: the run's own summed RSS when it was sampled
 * (`memory`), else the host's memory in use; either on an axis scaled to its own peak, not the host's
 * total (a run using 300 MiB on a 23 GB host is not a flat line at 1 %).
 */
export function systemPlot(
  points: SystemPoint[],
  memory: { at: number; kb: number }[],
  memoryLabel: string,
  t0: number,
  t1: number,
): string {
  const Hp = 160;
  const span = Math.max(1, t1 - t0);
  const x = (at: number) => f(LABEL + (PLOT * (at - t0)) / span);
  const y = (share: number) => f(Hp - Hp * Math.min(1, Math.max(0, share)));
  // a CPU reading is the host's share over the interval since the reading before it (the first, at the
  // run's start, has none): drawn across that interval, so the line starts where the run did, not a
  // second later (newcomer)
  const cpu: string[] = [];
  for (let i = 0, from = Number.NaN; i < points.length; from = points[i]!.at, i++) {
    const p = points[i]!;
    if (p.cpuPct === null) continue;
    const v = y(p.cpuPct / 100);
    if (!Number.isNaN(from)) cpu.push(`${x(from)},${v}`);
    cpu.push(`${x(p.at)},${v}`);
  }
  const peak = maxOf(
    memory.map((m) => m.kb * 1024),
    1,
  );
  const step = byteStep(peak);
  const top = Math.ceil(peak / step) * step;
  const mem = memory.map((m) => `${x(m.at)},${y((m.kb * 1024) / top)}`);
  const cpuTicks = [0, 50, 100]
    .map(
      (v) =>
        `<text class="tick" x="${LABEL - 8}" y="${f(Hp - (Hp * v) / 100 + 4)}" text-anchor="end">${v}%</text>`,
    )
    .join("");
  const memTicks = ticksOf(top, step)
    .map(
      (v) =>
        `<text class="tick mem" x="${LABEL + PLOT + 6}" y="${f(Hp - (Hp * v) / top + 4)}">${esc(bytes(v))}</text>`,
    )
    .join("");
  const legend = `<text class="legend cpu" x="10" y="20">■ host CPU (all cores, left)</text><text class="legend mem" x="10" y="40">■ ${esc(memoryLabel)} (right)</text>`;
  // a series of one reading (a run shorter than the sampling interval) is a point no line can draw
  const dot = (cls: string, pts: string[]) => {
    if (pts.length !== 1) return "";
    const [cx, cy] = pts[0]!.split(",");
    return `<circle class="dot ${cls}" cx="${cx}" cy="${cy}" r="3"/>`;
  };
  const plot = `${axis(span, Hp)}${cpuTicks}${memTicks}${legend}<polyline class="cpu" points="${cpu.join(" ")}"/><polyline class="mem" points="${mem.join(" ")}"/>${dot("cpu", cpu)}${dot("mem", mem)}`;
  return `<svg id="system" viewBox="0 0 ${W + 40} ${Hp + 34}" width="${W + 40}" height="${Hp + 34}" role="img"><g transform="translate(0,10)">${plot}</g></svg>`;
}
