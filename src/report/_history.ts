/** The HTML report's cross-run view: each step's figure as a dot on its range over earlier runs. */
import { bytes, seconds } from "../run/units.ts";
import { esc } from "./_svg.ts";
import type { Report } from "./types.ts";
import { plural } from "../core/plural.ts";

const W = 140;
const H = 14;

/** a range bar (earlier runs' min–max) with this run's value as a tick, red when above the range */
function rangeSvg(min: number, max: number, now: number, label: string): string {
  const top = Math.max(max, now, 1e-9);
  const x = (v: number) => ((v / top) * (W - 4) + 2).toFixed(1);
  const above = now > max;
  return `<svg class="range" width="${W}" height="${H}" role="img"><title>${esc(label)}</title><rect fill="#eaeef2" x="2" y="5" width="${W - 4}" height="4"/><rect fill="#8c959f" x="${x(min)}" y="4" width="${Math.max(1, Number(x(max)) - Number(x(min))).toFixed(1)}" height="6"/><rect fill="${above ? "#d1242f" : "#2f81f7"}" class="${above ? "above" : "within"}" x="${x(now)}" y="1" width="2" height="12"/></svg>`;
}

/** The section, or "" when the report has no history. */
export function historySection(r: Report): string {
  const h = r.history;
  if (!h) return "";
  const rows: string[] = [];
  for (const s of r.steps.slice(0, 600)) {
    const past = h.steps.get(s.key);
    if (!past) {
      rows.push(
        `<tr><td>${s.index}</td><td>${esc(s.name)}</td><td colspan="3" class="empty">new: not in earlier runs</td></tr>`,
      );
      continue;
    }
    const cell = (min: number, max: number, now: number, f: (v: number) => string) =>
      `<td>${rangeSvg(min, max, now, `earlier ${f(min)} – ${f(max)}, this run ${f(now)}`)}<br><span class="sub">${esc(`${f(min)}–${f(max)} · now ${f(now)}`)}</span></td>`;
    const wall =
      past.wallMs && s.durationMs !== null
        ? cell(past.wallMs.min, past.wallMs.max, s.durationMs, (v) => seconds(v * 1000))
        : "<td>-</td>";
    rows.push(
      `<tr><td>${s.index}</td><td>${esc(s.name)}</td>${wall}${cell(past.cpuUs.min, past.cpuUs.max, s.cpuUs, seconds)}${cell(past.peakRssKb.min * 1024, past.peakRssKb.max * 1024, s.peakRssKb * 1024, bytes)}</tr>`,
    );
  }
  return `<h2>Against the pipeline's history</h2><p class="sub">${esc(`${plural(h.runs, "earlier run")} of pipeline ${r.run.pipeline}: bar = their range, tick = this run (red above it)`)}</p><table id="history"><thead><tr><th>#</th><th>step</th><th>wall</th><th>CPU</th><th>peak RSS</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}
