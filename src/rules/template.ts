/** display_name templates: "bwa {subcommand}", "{script}", "picard {subcommand}". */
import type { View } from "./types.ts";

/** the placeholders a template may use */
export const TEMPLATE_VARS = /^(name|tool|subcommand|script|output|jar|class|arg[1-9][0-9]?)$/;

function value(v: View, key: string, tool: string): string | undefined {
  switch (key) {
    case "name":
      return v.name;
    case "tool":
      return tool;
    case "subcommand":
      return v.subcommand;
    case "script":
      return v.script;
    case "output":
      return v.output;
    case "jar":
      return v.java?.jar;
    case "class":
      return v.java?.class;
    default:
      return v.args[Number(key.slice(3)) - 1];
  }
}

/** a template split at its placeholders: text, key, text, key, …, text (a run fills thousands) */
const compiled = new Map<string, string[]>();

/** text that collapsing and trimming spaces would change: a space at an end, or two together */
const UNTIDY = /^ | $| {2}/;

/** Fill a template; a placeholder with no value is dropped, and the spaces around it collapse. */
export function render(template: string, v: View, tool: string): string {
  let parts = compiled.get(template);
  if (!parts) {
    parts = template.split(/\{([^}]*)\}/);
    if (compiled.size < 1024) compiled.set(template, parts);
  }
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) out += (value(v, parts[i]!, tool) ?? "") + parts[i + 1]!;
  // most filled templates are tidy already ("bwa mem"): tested, not rebuilt
  if (out && !UNTIDY.test(out)) return out;
  // only the template's spaces: a value's own tab or newline (a script named "a\nb.sh") is data, shown
  // escaped where it is printed (src/core/sanitize.ts) and kept as it is in JSON — as a space it would
  // name another file
  return out.replace(/ {2,}/g, " ").replace(/^ +| +$/g, "") || tool;
}
