import { defineCommand } from "../_define.ts";
import { Exit, TracerError } from "../../errors.ts";
import { printJson, say } from "../../core/output.ts";
import { explainUrl } from "../../net/check.ts";
import { jsonFlag } from "../_shared.ts";

const check = defineCommand({
  meta: {
    name: "check",
    description:
      "Say whether tracer would send a request to URL (resolves it; sends nothing). Exit 0 allowed, 3 refused",
  },
  args: {
    url: { type: "positional", required: true, description: "The URL to evaluate", valueHint: "URL" },
    insecure: {
      type: "boolean",
      description: "Evaluate it as a local/LAN collector: allow http and loopback/private addresses",
    },
    ...jsonFlag,
  },
  async run({ args }) {
    const insecure = Boolean(args.insecure);
    const r = await explainUrl(String(args.url), {
      allowHttp: insecure,
      allowLoopback: insecure,
      allowPrivate: insecure,
    });
    const exit = r.allowed ? Exit.ok : r.refusal ? Exit.refused : Exit.error;
    if (args.json) {
      process.exitCode = exit;
      return void printJson(r);
    }
    if (r.error) throw new TracerError(r.error.code, r.error.message, Exit.error);
    if (r.refusal)
      throw new TracerError(r.refusal.code, r.refusal.message, Exit.refused, {
        hint: insecure ? undefined : r.refusal.hint,
      });
    say(`allowed  ${r.url}`);
    for (const a of r.addresses) say(`  ${a.address}${a.range ? `  (${a.range}, opted in)` : ""}`);
    say(`  would connect to ${r.dial}`);
  },
});

export default defineCommand({
  meta: { name: "net", description: "Network policy tools" },
  subCommands: { check },
});
