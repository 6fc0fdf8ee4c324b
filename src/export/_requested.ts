/**
 * Is OTLP export asked for at all (a flag or an OTEL_* endpoint variable)? Kept apart from ./config.ts
 * so that `tracer run` without export loads none of the URL checks (issue 15, start-up).
 */
export function otlpRequested(
  flags: { endpoint?: string },
  env: Record<string, string | undefined> = process.env,
): boolean {
  // a flag given empty is asked for too (and refused by ./config.ts), never a silent "off"
  if (flags.endpoint !== undefined || env.OTEL_EXPORTER_OTLP_ENDPOINT) return true;
  // the per-signal variables apply only without the flag (the flag's base URL wins)
  return (
    flags.endpoint === undefined &&
    !!(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)
  );
}
