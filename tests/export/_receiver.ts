/**
 * A test OTLP/HTTP receiver on loopback: accepts POST /v1/traces and /v1/metrics with JSON bodies,
 * validates and decodes each against the official proto schema (./_otlp-schema.ts), and keeps what it
 * decoded. Answers 400 to anything invalid. `respond` can override the answer (outage simulations).
 */
import { decodeOtlpJson, MetricsRequest, TraceRequest } from "./_otlp-schema.ts";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  status?: { code?: number; message?: string };
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  kind: number;
}

type Kv = { key: string; value: Record<string, unknown> };
const flat = (kvs: Kv[] | undefined) => {
  const out: Record<string, unknown> = {};
  for (const { key, value } of kvs ?? []) {
    const [k, v] = Object.entries(value)[0] ?? [];
    out[key] =
      k === "arrayValue"
        ? ((v as { values?: Kv["value"][] }).values ?? []).map((x) => Object.values(x)[0])
        : v;
  }
  return out;
};

export interface Receiver {
  port: number;
  url: string;
  spans: ReceivedSpan[];
  resources: Record<string, unknown>[];
  metrics: { name: string; points: Record<string, unknown>[] }[];
  errors: string[];
  requests: { path: string; headers: Record<string, string>; status: number }[];
  stop(): void;
}

export function startReceiver(
  opts: { port?: number; respond?: (path: string, n: number) => Response | undefined } = {},
): Receiver {
  const r: Omit<Receiver, "port" | "url" | "stop"> = {
    spans: [],
    resources: [],
    metrics: [],
    errors: [],
    requests: [],
  };
  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const headers = Object.fromEntries(req.headers);
      const answer = (status: number, body: unknown = {}) => {
        r.requests.push({ path, headers, status });
        return Response.json(body, { status });
      };
      const forced = opts.respond?.(path, r.requests.length);
      if (forced) {
        r.requests.push({ path, headers, status: forced.status });
        return forced;
      }
      if (req.method !== "POST") return answer(405);
      if (!headers["content-type"]?.startsWith("application/json")) {
        r.errors.push(`${path}: content-type ${headers["content-type"]}`);
        return answer(415);
      }
      let payload: unknown;
      try {
        payload = await req.json();
      } catch (e) {
        r.errors.push(`${path}: not JSON: ${(e as Error).message}`);
        return answer(400);
      }
      const type = path === "/v1/traces" ? TraceRequest : path === "/v1/metrics" ? MetricsRequest : undefined;
      if (!type) return answer(404);
      const d = decodeOtlpJson(type, payload);
      if (d.errors.length || !d.message) {
        r.errors.push(...d.errors.map((e) => `${path}: ${e}`));
        return answer(400, { error: d.errors.slice(0, 5) });
      }
      if (type === TraceRequest)
        for (const rs of (d.message.resourceSpans ?? []) as Record<string, unknown>[]) {
          r.resources.push(flat((rs.resource as { attributes?: Kv[] })?.attributes));
          for (const ss of (rs.scopeSpans ?? []) as { spans?: Record<string, unknown>[] }[])
            for (const s of ss.spans ?? [])
              r.spans.push({ ...(s as unknown as ReceivedSpan), attributes: flat(s.attributes as Kv[]) });
        }
      else
        for (const rm of (d.message.resourceMetrics ?? []) as Record<string, unknown>[])
          for (const sm of (rm.scopeMetrics ?? []) as { metrics?: Record<string, unknown>[] }[])
            for (const m of sm.metrics ?? []) {
              const g = (m.gauge ?? m.sum) as { dataPoints?: Record<string, unknown>[] } | undefined;
              r.metrics.push({ name: String(m.name), points: g?.dataPoints ?? [] });
            }
      return answer(200, {});
    },
  });
  return {
    ...r,
    port: server.port!,
    url: `http://127.0.0.1:${server.port}`,
    stop: () => server.stop(true),
  } as Receiver;
}
