/**
 * A bundle-time macro: `import { embeddedText } from "./_text.ts" with { type: "macro" }`, then
 * `embeddedText("init.c")` is the text of that file of ffi/, inlined where it is called as a string
 * literal (by `bun build`, and by Bun's transpiler when running from source). A `with { type: "text" }`
 * import of the same file cost a compiled binary ~0.5–0.6 ms at its first load, whatever its size (the
 * bundle wraps the text in a CommonJS module that Bun requires at run time: the `require` builtin's first
 * use and the wrapper; measured in a small compiled program, 0.6 vs 0.07 ms to import a module holding
 * 18 KB of C either way): ~3 % of `tracer run -- true`, which loads five of them (issue 15).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The UTF-8 text of `name`, a file in ffi/ (a literal: macros run on what the bundler can see). */
export function embeddedText(name: string): string {
  if (name.includes("/") || name.includes("\\")) throw new Error(`not a file of ffi/: ${name}`);
  return readFileSync(join(import.meta.dir, name), "utf8");
}
