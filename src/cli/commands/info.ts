import { defineCommand } from "../_define.ts";
import { formatDuration, printJson, say } from "../../core/output.ts";
import { DaemonClient } from "../../daemon/client.ts";
import { jsonFlag } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";

export default defineCommand({
  meta: {
    name: "info",
    description: "Show the daemon's status: version, pid, uptime, spawn strategy, current run",
  },
  args: { ...jsonFlag },
  async run({ args }) {
    const i = await new DaemonClient().info();
    if (args.json) return void printJson(i);
    const run = i.run ? `${i.run.name} (pipeline ${i.run.pipeline}, since ${i.run.startedAt})` : "none";
    const rows: [string, string][] = [
      ["version", `${i.version} (${i.commit})`],
      ["pid", String(i.pid)],
      ["uptime", formatDuration(i.uptimeMs)],
      ["spawned by", i.strategy],
      ["run", run],
      ["runs done", String(i.runsCompleted)],
      ["socket", i.socket],
      ["log", i.log],
    ];
    for (const [k, v] of rows) say(`${k.padEnd(11)} ${sanitize(v)}`);
  },
});
