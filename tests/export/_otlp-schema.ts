/**
 * A strict OTLP/HTTP JSON validator built on the official opentelemetry-proto .proto files (shipped in
 * @opentelemetry/otlp-grpc-exporter-base) and protobufjs. Every key must be a field of the schema
 * (lowerCamelCase JSON name), 64-bit integers must be decimal strings, enums integers, trace/span ids
 * hex of the right length; then the payload is encoded to protobuf and decoded back, as a collector would.
 */
import { join } from "node:path";
import protobuf from "protobufjs";
import { ROOT } from "../helpers/harness.ts";

const PROTOS = join(ROOT, "node_modules", "@opentelemetry", "otlp-grpc-exporter-base", "build", "protos");
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTOS, target);
root.loadSync([
  "opentelemetry/proto/collector/trace/v1/trace_service.proto",
  "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
]);
export const TraceRequest = root.lookupType(
  "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
);
export const MetricsRequest = root.lookupType(
  "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
);

const INT32 = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32"]);
const INT64 = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const HEX_IDS: Record<string, number> = { traceId: 32, spanId: 16, parentSpanId: 16 };

function check(field: protobuf.Field, key: string, v: unknown, path: string, errors: string[]): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return walk(t, v, path, errors);
  if (t instanceof protobuf.Enum) {
    if (!Number.isInteger(v) || !Object.values(t.values).includes(v as number))
      errors.push(`${path}: enum ${t.name} must be one of its integers, got ${JSON.stringify(v)}`);
    return v;
  }
  const type = field.type;
  const bad = (want: string) => errors.push(`${path}: ${type} must be ${want}, got ${JSON.stringify(v)}`);
  if (INT64.has(type)) {
    if (typeof v !== "string" || !/^-?\d+$/.test(v)) bad("a decimal string");
    return v;
  }
  if (INT32.has(type)) {
    if (!Number.isInteger(v)) bad("an integer number");
    return v;
  }
  if (type === "double" || type === "float") {
    if (typeof v !== "number" || !Number.isFinite(v)) bad("a finite number");
    return v;
  }
  if (type === "bool") {
    if (typeof v !== "boolean") bad("a boolean");
    return v;
  }
  if (type === "string") {
    if (typeof v !== "string") bad("a string");
    return v;
  }
  if (type === "bytes") {
    const len = HEX_IDS[key];
    if (len !== undefined) {
      if (typeof v !== "string" || !new RegExp(`^[0-9a-f]{${len}}$`).test(v))
        bad(`${len} lowercase hex digits`);
      else if (/^0+$/.test(v)) errors.push(`${path}: an all-zero id is invalid`);
      return Buffer.from(String(v), "hex");
    }
    if (typeof v !== "string") bad("base64");
    return Buffer.from(String(v), "base64");
  }
  errors.push(`${path}: unhandled type ${type}`);
  return v;
}

/** Check `obj` against message type `t`; returns a copy fit for protobufjs fromObject. */
function walk(t: protobuf.Type, obj: unknown, path: string, errors: string[]): unknown {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    errors.push(`${path}: ${t.name} must be an object`);
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    const field = t.fields[key];
    if (!field) {
      errors.push(`${path}.${key}: not a field of ${t.fullName}`);
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) errors.push(`${path}.${key}: must be an array`);
      else out[key] = v.map((e, i) => check(field, key, e, `${path}.${key}[${i}]`, errors));
    } else out[key] = check(field, key, v, `${path}.${key}`, errors);
  }
  for (const o of t.oneofsArray) {
    const set = o.oneof.filter((n) => n in out);
    if (set.length > 1) errors.push(`${path}: oneof ${o.name} has ${set.join(" and ")}`);
  }
  return out;
}

export interface Decoded {
  errors: string[];
  /** the protobuf round trip, ids as hex, 64-bit ints as strings */
  message?: Record<string, unknown>;
}

/** Validate a JSON payload against `type`, then encode it to protobuf and decode it back. */
export function decodeOtlpJson(type: protobuf.Type, payload: unknown): Decoded {
  const errors: string[] = [];
  const converted = walk(type, payload, "$", errors);
  if (errors.length) return { errors };
  const msg = type.fromObject(converted as Record<string, unknown>);
  const bad = type.verify(msg);
  if (bad) return { errors: [bad] };
  const bytes = type.encode(msg).finish();
  const back = type.toObject(type.decode(bytes), {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: false,
  });
  const hexify = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(hexify);
    if (x && typeof x === "object")
      return Object.fromEntries(
        Object.entries(x).map(([k, v]) => [
          k,
          k in HEX_IDS && typeof v === "string" ? Buffer.from(v, "base64").toString("hex") : hexify(v),
        ]),
      );
    return x;
  };
  return { errors: [], message: hexify(back) as Record<string, unknown> };
}
