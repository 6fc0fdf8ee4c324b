import type { ArgDef } from "citty";
import { isTty } from "../core/output.ts";
import { wholeOption } from "./_numbers.ts";

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

/** --width of the commands that print a table fitted to the terminal (report, runs, diff, advise). */
export const widthFlag = {
  width: {
    type: "string",
    description:
      "Cut table lines to N columns (default: the terminal's, else $COLUMNS, else 160; 0: no limit)",
    valueHint: "N",
  },
} as const satisfies Record<string, ArgDef>;

/**
 * Terminal columns a table's line may take: --width (0: no limit), else the terminal's when stdout is
 * one, else $COLUMNS, else 160.
 */
export function widthOf(v: string | undefined): number {
  const n = wholeOption("--width", v);
  if (n !== undefined) return n === 0 ? Number.POSITIVE_INFINITY : n;
  const tty = isTty(1) ? process.stdout.columns : undefined;
  if (tty) return tty;
  const env = Number(process.env.COLUMNS);
  return Number.isSafeInteger(env) && env > 0 ? env : 160;
}
