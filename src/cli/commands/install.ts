import { defineCommand } from "../_define.ts";
import { dim, note, printJson, say } from "../../core/output.ts";
import { installRelease } from "../../install/flow.ts";
import { jsonFlag } from "../_shared.ts";

export default defineCommand({
  meta: {
    name: "install",
    description: "Install tracer into /usr/local/bin from the signed release (or an --archive, offline)",
  },
  args: {
    version: {
      type: "string",
      description: "Install this version (default: the latest release)",
      valueHint: "X.Y.Z",
    },
    archive: {
      type: "string",
      description:
        "Install from FILE.tar.gz (with FILE.tar.gz.minisig and the binary's .minisig beside it); no network",
      valueHint: "FILE",
    },
    "allow-downgrade": {
      type: "boolean",
      description: "Allow installing a version older than the installed one",
    },
    "restart-daemon": { type: "boolean", description: "Restart a running daemon on the new binary" },
    ...jsonFlag,
  },
  async run({ args }) {
    const r = await installRelease({
      command: "install",
      version: args.version,
      archive: args.archive,
      allowDowngrade: args["allow-downgrade"],
      restartDaemon: args["restart-daemon"],
    });
    if (args.json) return void printJson(r);
    const was = r.previousVersion ? dim(` (was ${r.previousVersion})`, 1) : "";
    say(`tracer ${r.version} (${r.target}) installed at ${r.path}${was}`);
    if (r.daemon) note(r.daemon);
  },
});
