/** Hand-written SVG charts for the HTML report: no library, no script, a few kilobytes each. */
import { sanitize } from "../core/sanitize.ts";
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

function axis(spanMs: number, height: number, fmt: (ms: number) => string): string {
  const ticks: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const x = LABEL + (PLOT * i) / 5;
    ticks.push(
      `<line class="grid" x1="${f(x)}" y1="0" x2="${f(x)}" y2="${height}"/>`,
      `<text class="tick" x="${f(x)}" y="${height + 14}" text-anchor="middle">${esc(fmt((spanMs * i) / 5))}</text>`,
    );
  }
  return ticks.join("");
}

const secs = (ms: number) =>
  ms < 1000
    ? `${Math.round(ms)}ms`
    : ms < 10_000
      ? `${(ms / 1000).toFixed(1)}s`
      : `${Math.round(ms / 1000)}s`;
const label = (s: Step, y: number) =>
  `<text class="label" x="${LABEL - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${esc(`${s.index}. ${s.name}`.slice(0, 40))}</text>`;

/** Gantt: one bar per step from its start to its end (to the run's end while it runs). */
export function gantt(steps: Step[], t0: number, t1: number): string {
  const span = Math.max(1, t1 - t0);
  const h = steps.length * ROW;
  const bars = steps.map((s, i) => {
    const y = i * ROW;
    const x = LABEL + (PLOT * (s.startedAt - t0)) / span;
    const w = Math.max(2, (PLOT * ((s.endedAt ?? t1) - s.startedAt)) / span);
    const tip = `${s.name}: ${s.durationMs === null ? "running" : secs(s.durationMs)}${s.failed ? ", FAILED" : ""}`;
    return `${label(s, y)}<rect class="bar${s.failed ? " failed" : ""}" data-step="${s.index}" x="${f(x)}" y="${y + 3}" width="${f(w)}" height="${ROW - 6}" rx="3"><title>${esc(tip)}</title></rect>`;
  });
  return `<svg id="timeline" viewBox="0 0 ${W} ${h + 24}" width="${W}" height="${h + 24}" role="img" aria-label="timeline of steps">${axis(span, h, secs)}${bars.join("")}</svg>`;
}

/** Horizontal bars of one figure per step. */
export function stepBars(
  id: string,
  steps: Step[],
  value: (s: Step) => number,
  fmt: (v: number) => string,
): string {
  const max = maxOf(steps.map(value), 1e-9);
  const h = steps.length * ROW;
  const bars = steps.map((s, i) => {
    const y = i * ROW;
    const v = value(s);
    const w = Math.max(1, ((PLOT - 80) * v) / max);
    return `${label(s, y)}<rect class="metric${s.failed ? " failed" : ""}" x="${LABEL}" y="${y + 4}" width="${f(w)}" height="${ROW - 8}" rx="2"><title>${esc(`${s.name}: ${fmt(v)}`)}</title></rect><text class="value" x="${f(LABEL + w + 6)}" y="${y + ROW / 2 + 4}">${esc(fmt(v))}</text>`;
  });
  return `<svg id="${id}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img">${bars.join("")}</svg>`;
}

/** The host's CPU % and memory-used % over the run. */
export function systemPlot(points: SystemPoint[], t0: number, t1: number): string {
  const H = 160;
  const span = Math.max(1, t1 - t0);
  const xy = (p: SystemPoint, v: number) =>
    `${f(LABEL + (PLOT * (p.at - t0)) / span)},${f(H - (H * Math.min(100, Math.max(0, v))) / 100)}`;
  const cpu = points.filter((p) => p.cpuPct !== null).map((p) => xy(p, p.cpuPct!));
  const mem = points
    .filter((p) => p.memUsedKb !== null && p.memTotalKb)
    .map((p) => xy(p, (100 * p.memUsedKb!) / p.memTotalKb!));
  const yTicks = [0, 50, 100]
    .map(
      (v) =>
        `<text class="tick" x="${LABEL - 8}" y="${f(H - (H * v) / 100 + 4)}" text-anchor="end">${v}%</text>`,
    )
    .join("");
  const legend = `<text class="legend cpu" x="10" y="20">■ CPU (all cores)</text><text class="legend mem" x="10" y="40">■ memory used</text>`;
  const plot = `${axis(span, H, secs)}${yTicks}${legend}<polyline class="cpu" points="${cpu.join(" ")}"/><polyline class="mem" points="${mem.join(" ")}"/>`;
  return `<svg id="system" viewBox="0 0 ${W} ${H + 34}" width="${W}" height="${H + 34}" role="img"><g transform="translate(0,10)">${plot}</g></svg>`;
}
