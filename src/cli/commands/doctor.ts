import { defineCommand } from "../_define.ts";
import { doctor } from "../../core/doctor.ts";
import type { DirCheck } from "../../core/dirs.ts";
import type { StoreCheck } from "../../store/inspect.ts";
import { SCHEMA_VERSION } from "../../store/db.ts";
import { green, printJson, red, say, yellow } from "../../core/output.ts";
import { Exit } from "../../errors.ts";
import { jsonFlag } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";

const out = 1;
const mark = (ok: boolean) => (ok ? green("ok", out) : red("no", out));
const dirLine = (name: string, d: DirCheck) =>
  `${name.padEnd(8)} ${sanitize(d.path)}  ${
    d.problem
      ? red(`problem: it ${d.problem}`, out)
      : d.exists
        ? `${green("ok", out)} (mode ${d.mode})`
        : yellow("not created yet", out)
  }`;

const storeLine = (s: StoreCheck) =>
  `${"store".padEnd(8)} ${sanitize(s.path)}  ${
    s.problem
      ? red(`problem: it ${sanitize(s.problem)}`, out)
      : s.exists
        ? `${green("ok", out)} (schema ${s.schema}${s.schema !== undefined && s.schema < SCHEMA_VERSION ? `, upgraded to ${SCHEMA_VERSION} at its next use` : ""})`
        : yellow("not created yet", out)
  }`;

export default defineCommand({
  meta: { name: "doctor", description: "Check what this host allows tracer to do" },
  args: { ...jsonFlag },
  run({ args }) {
    const r = doctor();
    if (!r.ok) process.exitCode = Exit.error;
    if (args.json) return void printJson(r);
    say(
      sanitize(
        `tracer ${r.version} (${r.commit}) ${r.compiled ? "compiled" : "from source"} at ${r.executable}`,
      ),
    );
    say(
      `host     ${r.platform}/${r.arch}${r.libc === "n/a" ? "" : ` ${r.libc}`}, kernel ${r.kernel}, uid ${r.uid}`,
    );
    say(`spawn    ${r.spawn.strategy === "none" ? red("none", out) : r.spawn.strategy}`);
    for (const why of r.spawn.reasons) say(`         - ${sanitize(why)}`);
    say(`capture  ${r.capture}`);
    say(dirLine("state", r.dirs.state));
    say(dirLine("runtime", r.dirs.runtime));
    say(storeLine(r.store));
    if (r.features.length) say("features");
    for (const f of r.features)
      say(`  ${mark(f.available)}  ${f.name.padEnd(16)} ${sanitize(f.detail)}  (for ${f.neededBy})`);
  },
});
