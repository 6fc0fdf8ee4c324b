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

/** Fill a template; a placeholder with no value is dropped, and the spaces around it collapse. */
export function render(template: string, v: View, tool: string): string {
  const out = template.replace(/\{([^}]*)\}/g, (_, k: string) => value(v, k, tool) ?? "");
  return out.replace(/\s+/g, " ").trim() || tool;
}
