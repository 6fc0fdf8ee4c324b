import { defineCommand } from "../_define.ts";
import { formatDuration, printJson, red, say, yellow } from "../../core/output.ts";
import { DaemonClient } from "../../daemon/client.ts";
import { jsonFlag } from "../_shared.ts";
import { sanitize } from "../../core/sanitize.ts";
import { plural } from "../../core/plural.ts";

export default defineCommand({
  meta: {
    name: "info",
    description:
      "Show the daemon's status: version, pid, uptime, spawn strategy, current run and its capture",
  },
  args: { ...jsonFlag },
  async run({ args }) {
    const i = await new DaemonClient().info();
    if (args.json) return void printJson(i);
    const run = i.run ? `${i.run.name} (pipeline ${i.run.pipeline}, since ${i.run.startedAt})` : "none";
    const c = i.run?.capture;
    const capture =
      c === undefined
        ? undefined
        : "error" in c
          ? red(`not recording: ${c.error}`, 1)
          : `${c.mode}, ${plural(c.processes, "process", "processes")}, ${c.lost ? yellow(`${plural(c.lost, "event")} lost`, 1) : "0 events lost"}`;
    const rows: [string, string | undefined][] = [
      ["version", `${i.version} (${i.commit})`],
      ["pid", String(i.pid)],
      ["uptime", formatDuration(i.uptimeMs)],
      ["spawned by", i.strategy],
      ["run", run],
      ["capture", capture],
      ["runs done", String(i.runsCompleted)],
      ["socket", i.socket],
      ["log", i.log],
    ];
    for (const [k, v] of rows) if (v !== undefined) say(`${k.padEnd(11)} ${sanitize(v)}`);
  },
});
