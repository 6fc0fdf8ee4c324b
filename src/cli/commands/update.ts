import { defineCommand } from "../_define.ts";
import { dim, note, printJson, say } from "../../core/output.ts";
import { installRelease, rollbackRelease } from "../../install/flow.ts";
import { jsonFlag } from "../_shared.ts";

export default defineCommand({
  meta: {
    name: "update",
    description: "Update the installed tracer to the latest signed release (or roll back)",
  },
  args: {
    version: {
      type: "string",
      description: "Update to this version instead of the latest",
      valueHint: "X.Y.Z",
    },
    "allow-downgrade": { type: "boolean", description: "Allow a version older than the installed one" },
    rollback: { type: "boolean", description: "Put back the binary this update replaced" },
    "restart-daemon": { type: "boolean", description: "Restart a running daemon on the new binary" },
    ...jsonFlag,
  },
  async run({ args }) {
    if (args.rollback) {
      const r = await rollbackRelease(args["restart-daemon"]);
      if (args.json) return void printJson({ status: "rolled-back", ...r });
      say(`rolled back to tracer ${r.version}`);
      if (r.daemon) note(r.daemon);
      return;
    }
    const r = await installRelease({
      command: "update",
      version: args.version,
      allowDowngrade: args["allow-downgrade"],
      restartDaemon: args["restart-daemon"],
    });
    if (args.json) return void printJson(r);
    if (r.status === "up-to-date") return void say(`tracer ${r.version} is already the latest release`);
    const was = r.previousVersion ? dim(` (was ${r.previousVersion})`, 1) : "";
    say(`tracer updated to ${r.version}${was}`);
    if (r.daemon) note(r.daemon);
  },
});
