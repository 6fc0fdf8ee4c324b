/**
 * Variables that change how a Bun/Node program or the dynamic linker behaves. None of them may reach a
 * process we start from our own executable: BUN_OPTIONS=--preload=… would run foreign code inside the
 * daemon, LD_PRELOAD inside anything.
 */
const DENY_EXACT = new Set([
  "BUN_OPTIONS",
  "BUN_BE_BUN",
  "NODE_OPTIONS",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "LD_AUDIT",
]);
const DENY_PREFIX = ["DYLD_"];

export function isScrubbed(name: string): boolean {
  return DENY_EXACT.has(name) || DENY_PREFIX.some((p) => name.startsWith(p));
}

/** A copy of `env` without the dangerous variables, and without undefined values. */
export function scrubEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isScrubbed(k)) out[k] = v;
  return out;
}
