/**
 * The capability probes where capture is degraded, as `tracer doctor` will meet them: in its own
 * network namespace, in a pid namespace, in a user namespace, and as an unprivileged user. Each case
 * runs the probes in a child process made by unshare(1) / setpriv(1) from a bundled probe script.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probeConnector } from "../../src/observe/connector.ts";
import type { Probe } from "../../src/observe/types.ts";
import { cleanupTemp, ROOT, tempDir } from "../helpers/harness.ts";

const isRoot = process.getuid?.() === 0;
const canRun = process.platform === "linux" && isRoot && probeConnector().available;
if (!canRun) console.warn("skipping namespace probe tests: needs Linux, root and a working proc connector");

let bundle = "";
beforeAll(async () => {
  if (!canRun) return;
  const dir = tempDir();
  chmodSync(dir, 0o755); // the unprivileged case must read the bundle
  const entry = join(dir, "probe-entry.ts");
  writeFileSync(
    entry,
    `import { probeConnector } from ${JSON.stringify(join(ROOT, "src/observe/connector.ts"))};
     import { probeTaskstats } from ${JSON.stringify(join(ROOT, "src/observe/taskstats.ts"))};
     import { probeSchedRuntime } from ${JSON.stringify(join(ROOT, "src/observe/schedrt.ts"))};
     console.log(JSON.stringify({ connector: probeConnector(), taskstats: probeTaskstats(), schedrt: probeSchedRuntime() }));`,
  );
  const out = await Bun.build({ entrypoints: [entry], outdir: dir, target: "bun" });
  if (!out.success) throw new Error(out.logs.join("\n"));
  bundle = out.outputs[0]!.path;
  chmodSync(bundle, 0o644);
});
afterAll(cleanupTemp);

async function probesUnder(
  prefix: string[],
): Promise<{ connector: Probe; taskstats: Probe; schedrt: Probe }> {
  const p = Bun.spawn([...prefix, process.execPath, bundle], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, HOME: "/tmp" },
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  if (code !== 0) throw new Error(`probe under ${prefix.join(" ")} failed (${code}): ${err}`);
  return JSON.parse(out);
}

describe.skipIf(!canRun)("capability probes in degraded places", () => {
  test("as root on the host both sources are available", async () => {
    const r = await probesUnder([]);
    expect(r.connector.available).toBe(true);
    expect(r.taskstats).toMatchObject({ available: true });
  });

  test("own network namespace: connector refused, taskstats delivers nothing", async () => {
    const r = await probesUnder(["unshare", "-n"]);
    expect(r.connector).toMatchObject({ available: false });
    expect(r.connector.reason).toContain("ECONNREFUSED");
    expect(r.taskstats).toMatchObject({ available: false });
    expect(r.taskstats.reason).toContain("no exit record arrived");
  });

  test("pid namespace: no ACK from the connector, taskstats EINVAL", async () => {
    const r = await probesUnder(["unshare", "-fp", "--mount-proc"]);
    expect(r.connector).toMatchObject({ available: false });
    expect(r.connector.reason).toContain("no ACK");
    expect(r.taskstats.reason).toContain("EINVAL");
    // the ledger's programs see global pids: refused as such, not blamed on the kernel's types
    expect(r.schedrt).toMatchObject({ available: false });
    expect(r.schedrt.reason).toContain("pid namespace");
  });

  test("unprivileged user: taskstats EPERM; the connector works on kernels ≥ 6.6", async () => {
    let r: { connector: Probe; taskstats: Probe };
    try {
      r = await probesUnder(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
    } catch (e) {
      // the runtime itself may sit in a directory only root can enter (e.g. under /root)
      console.warn(`skipping the unprivileged case: ${(e as Error).message.split("\n")[0]}`);
      return;
    }
    expect(r.taskstats).toMatchObject({ available: false });
    expect(r.taskstats.reason).toContain("EPERM");
    const [major = 0, minor = 0] = (await Bun.file("/proc/sys/kernel/osrelease").text())
      .split(".")
      .map(Number);
    expect(r.connector.available).toBe(major > 6 || (major === 6 && minor >= 6));
  });
});
