/**
 * The one rule for run and pipeline names, used by `init`, `start` (the CLI and the daemon's /v1/start)
 * and `run`: 1–128 characters, letters and digits (any script), spaces and `._:@+-`, starting with a
 * letter or digit. So no control characters, ESC, DEL, bidi overrides or other invisible formatting.
 */
import { Exit, TracerError } from "../errors.ts";
import { sanitize } from "./sanitize.ts";

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._:@+-]{0,127}$/u;

export const NAME_RULE =
  "1-128 letters, digits, spaces or ._:@+- characters, starting with a letter or digit";

export const isValidName = (v: string): boolean => NAME.test(v);

/** a run id's shape (a UUID): a name like it would shadow, or be shadowed by, another run's id */
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `v` itself when absent or valid; else E_BAD_NAME (exit 2, usage) naming the flag. */
export function checkName(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return v;
  if (RUN_ID.test(v))
    throw new TracerError(
      "E_BAD_NAME",
      `${flag} must not look like a run id, got "${v}": \`tracer report ${v}\` would mean the run with that id`,
      Exit.usage,
    );
  if (isValidName(v)) return v;
  throw new TracerError("E_BAD_NAME", `${flag} must be ${NAME_RULE}, got "${shown(v)}"`, Exit.usage);
}

/**
 * The rejected name as a terminal may show it (src/core/sanitize.ts: controls, bidi and invisible
 * characters escaped, printable text such as `#` or `/` as itself), cut at 64 characters.
 */
function shown(v: string): string {
  const cut = [...v];
  const text = sanitize(cut.slice(0, 64).join(""));
  return cut.length > 64 ? `${text}… (${cut.length} characters)` : text;
}
