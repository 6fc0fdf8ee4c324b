import { defineCommand } from "../_define.ts";
import { printJson, say } from "../../core/output.ts";
import { Exit, TracerError } from "../../errors.ts";
import { checkRuleFile, testCommand } from "../../rules/check.ts";
import { jsonFlag } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";
import { plural } from "../../core/plural.ts";

const check = defineCommand({
  meta: { name: "check", description: "Validate a rule file: every key known, every value well-formed" },
  args: {
    ...jsonFlag,
    file: { type: "positional", required: true, description: "Rule file (YAML)", valueHint: "FILE" },
  },
  run({ args }) {
    const r = checkRuleFile(args.file);
    if (args.json) return void printJson(r);
    say(sanitize(`${r.file}: ok, ${plural(r.rules, "rule")}, ${plural(r.exclude, "exclusion")}`));
  },
});

const test = defineCommand({
  meta: {
    name: "test",
    description: "Show which rule names a command line: tracer rules test [--rules FILE] -- CMD ARGS...",
  },
  args: {
    ...jsonFlag,
    rules: { type: "string", description: "A rule file tried before the defaults", valueHint: "FILE" },
  },
  run({ args, rawArgs }) {
    const dd = rawArgs.indexOf("--");
    const argv = dd < 0 ? [] : rawArgs.slice(dd + 1);
    if (!argv.length)
      throw new TracerError("E_USAGE", "no command line to test", Exit.usage, {
        hint: "tracer rules test -- bwa mem ref.fa reads.fq",
      });
    const r = testCommand(argv, args.rules === undefined ? [] : [args.rules]);
    // no rule (or an exclusion) answers 1, so scripts can test for a match
    if (r.status !== "matched") process.exitCode = Exit.error;
    if (args.json) return void printJson(r);
    if (r.status === "matched")
      say(sanitize(`${r.display}  (rule "${r.rule!.name}", ${r.rule!.kind}, ${r.rule!.origin})`));
    else if (r.status === "excluded") say(sanitize(`excluded by ${r.excludedBy}`));
    else say("no rule matches");
  },
});

export default defineCommand({
  meta: { name: "rules", description: "Check rule files and test which rule names a command line" },
  subCommands: { check, test },
});
