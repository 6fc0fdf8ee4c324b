/** Where release tooling takes a secret key's password from: an environment variable or stdin's first line. */
import { readFileSync } from "node:fs";
import { Exit, TracerError } from "../errors.ts";

export const PASSWORD_ENV = "TRACER_KEY_PASSWORD";

/** The password, or undefined when neither source gives one. Strips one trailing newline, like minisign. */
export function readPassword(opts: { stdin?: boolean; env?: Record<string, string | undefined> } = {}) {
  const env = opts.env ?? process.env;
  if (opts.stdin) {
    const text = readFileSync(0, "utf8");
    const line = text.split("\n")[0]?.replace(/\r$/, "");
    if (!line) throw new TracerError("E_KEY_PASSWORD", "no password on stdin", Exit.usage);
    return line;
  }
  return env[PASSWORD_ENV] || undefined;
}
