import type { ArgDef } from "citty";

/** Flag groups shared by several commands. */
export const jsonFlag = {
  json: { type: "boolean", description: "Print machine-readable JSON (stable, see docs/CLI.md)" },
} as const satisfies Record<string, ArgDef>;

export const runFlags = {
  run: { type: "string", description: "Name of the run", valueHint: "NAME" },
  pipeline: { type: "string", description: "Name of the pipeline the run belongs to", valueHint: "NAME" },
} as const satisfies Record<string, ArgDef>;

export const otlpFlags = {
  "otlp-endpoint": {
    type: "string",
    description: "Export runs to this OTLP/HTTP collector (base URL; also OTEL_EXPORTER_OTLP_ENDPOINT)",
    valueHint: "URL",
  },
  "otlp-insecure": {
    type: "boolean",
    description: "The collector is local/LAN: allow http and loopback/private addresses",
  },
} as const satisfies Record<string, ArgDef>;
