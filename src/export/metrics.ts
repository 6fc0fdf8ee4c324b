/**
 * System samples as OTLP gauges (semantic-convention names where one exists), and the
 * ExportMetricsServiceRequest around them. Same JSON rules as ./otlp.ts.
 */
import { type Attr, attributes, type KeyValue, nanos, type OtlpResource, SCOPE } from "./otlp.ts";
import type { ExportSystemSample } from "./types.ts";

export interface OtlpNumberPoint {
  timeUnixNano: string;
  asDouble?: number;
  asInt?: string;
  attributes?: KeyValue[];
}
export interface OtlpMetric {
  name: string;
  unit: string;
  description: string;
  gauge: { dataPoints: OtlpNumberPoint[] };
}

const gauge = (
  name: string,
  unit: string,
  description: string,
  dataPoints: OtlpNumberPoint[],
): OtlpMetric => ({
  name,
  unit,
  description,
  gauge: { dataPoints },
});

/** System samples as gauges (semantic-convention names where one exists). */
export function systemMetrics(samples: ExportSystemSample[]): OtlpMetric[] {
  if (samples.length === 0) return [];
  // a sample whose figure is unknown (null: the host CPU % of a run's first reading) has no point
  const pts = (f: (s: ExportSystemSample) => number | null, int: boolean, attrs?: Record<string, Attr>) =>
    samples.flatMap((s) => {
      const v = f(s);
      if (v === null) return [];
      return [
        {
          timeUnixNano: nanos(s.at),
          ...(int ? { asInt: String(Math.round(v)) } : { asDouble: v }),
          ...(attrs ? { attributes: attributes(attrs) } : {}),
        },
      ];
    });
  return [
    gauge(
      "system.cpu.utilization",
      "1",
      "Busy share of all CPUs since the previous sample",
      pts((s) => (s.cpuPct === null ? null : s.cpuPct / 100), false),
    ),
    gauge(
      "system.memory.usage",
      "By",
      "Memory in use",
      pts((s) => s.memUsedKb * 1024, true, { "system.memory.state": "used" }),
    ),
    gauge(
      "system.memory.limit",
      "By",
      "Total memory",
      pts((s) => s.memTotalKb * 1024, true),
    ),
    gauge(
      "system.paging.usage",
      "By",
      "Swap in use",
      pts((s) => s.swapUsedKb * 1024, true, { "system.paging.state": "used" }),
    ),
    gauge(
      "system.cpu.load_average.1m",
      "{thread}",
      "Load average, 1 minute",
      pts((s) => s.load1, false),
    ),
    gauge(
      "system.cpu.load_average.5m",
      "{thread}",
      "Load average, 5 minutes",
      pts((s) => s.load5, false),
    ),
    gauge(
      "system.cpu.load_average.15m",
      "{thread}",
      "Load average, 15 minutes",
      pts((s) => s.load15, false),
    ),
    gauge(
      "system.filesystem.usage",
      "By",
      "Disk space in use",
      pts((s) => s.diskUsedBytes, true, { "system.filesystem.state": "used" }),
    ),
    gauge(
      "system.filesystem.limit",
      "By",
      "Disk size",
      pts((s) => s.diskTotalBytes, true),
    ),
    // a gauge with no known point (a short run's host CPU %) is left out
  ].filter((m) => m.gauge.dataPoints.length > 0);
}

export function metricsRequest(groups: { resource: OtlpResource; metrics: OtlpMetric[] }[]) {
  return {
    resourceMetrics: groups.map((g) => ({
      resource: g.resource,
      scopeMetrics: [{ scope: SCOPE, metrics: g.metrics }],
    })),
  };
}
