/**
 * Runs src/install/place.ts inside a test mount namespace (see _ns.ts). Refuses to run unless
 * /usr/local/bin is a private test tmpfs in a mount namespace other than the test's (TEST_HOST_MNTNS):
 * the host is never touched.
 * Usage: bun _place-helper.ts '<json request>'; prints a JSON result, exits 1 with {error} on failure.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { TracerError } from "../../src/errors.ts";
import { placeBinary, removeInstalled, swapPrevious, withBinDirLock } from "../../src/install/place.ts";

const mounts = readFileSync("/proc/self/mounts", "utf8");
if (
  readlinkSync("/proc/self/ns/mnt") === process.env.TEST_HOST_MNTNS ||
  !process.env.TEST_HOST_MNTNS ||
  !mounts.split("\n").some((l) => l.startsWith("tracer-test /usr/local/bin tmpfs "))
) {
  console.error("refusing: /usr/local/bin is not a private test tmpfs");
  process.exit(2);
}

const req = JSON.parse(process.argv[2] ?? "{}") as {
  op: "place" | "rollback" | "uninstall" | "lock";
  source?: string;
  sha256?: string;
  signature?: string;
};
try {
  const out = await withBinDirLock(async () => {
    if (req.op === "place")
      return placeBinary({ source: req.source!, sha256: req.sha256!, signature: req.signature ?? "sig\n" });
    if (req.op === "rollback") return swapPrevious();
    if (req.op === "uninstall") return removeInstalled();
    return "locked";
  });
  console.log(JSON.stringify({ ok: true, out }));
} catch (e) {
  const te = e instanceof TracerError ? e : undefined;
  console.log(JSON.stringify({ ok: false, code: te?.code, message: (e as Error).message }));
  process.exit(1);
}
