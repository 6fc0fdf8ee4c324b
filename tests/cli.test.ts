import { afterAll, describe, expect, test } from "bun:test";
import pkg from "../package.json" with { type: "json" };
import { cleanupTemp, isolatedEnv, run } from "./helpers/harness.ts";

afterAll(cleanupTemp);
const env = isolatedEnv();
const COMMANDS = ["init", "info", "start", "stop", "terminate", "logs", "doctor"];

describe("tracer CLI (compiled binary)", () => {
  test("--version prints the version baked in at build time", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await run([flag], { env });
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });

  test("--help lists every command; each command has its own --help", async () => {
    const top = await run(["--help"], { env });
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c);
    expect(top.stdout).not.toContain("__daemon");
    for (const c of COMMANDS) {
      const r = await run([c, "--help"], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`tracer ${c}`);
      expect(r.stdout).not.toContain("\x1b["); // NO_COLOR honoured
    }
  });

  test("usage errors exit 2 with one clear line", async () => {
    const cases: [string[], string][] = [
      [["frob"], 'unknown command "frob"'],
      [["init", "--forse"], 'unknown option "--forse"'],
      [["info", "extra"], 'unexpected argument "extra"'],
      [["logs", "-n", "many"], '-n needs a whole number, got "many"'],
      [["init", "--spawn", "magic"], 'unknown spawn strategy "magic"'],
      [["init", "--run"], 'option "--run" needs a value'],
    ];
    for (const [args, msg] of cases) {
      const r = await run(args, { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(msg);
      expect(r.stdout).toBe("");
    }
    const bare = await run([], { env });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("USAGE");
  });

  test("doctor --json reports platform, the spawn strategy and why, dirs, kernel features", async () => {
    const r = await run(["doctor", "--json"], { env });
    const d = JSON.parse(r.stdout);
    expect(d.platform).toBe(process.platform);
    expect(d.compiled).toBe(true);
    expect(d.spawn.strategy).toBe("fd");
    expect(d.spawn.reasons.join(" ")).toContain("execveat");
    expect(d.dirs.state.path).toBe(env.TRACER_STATE_DIR);
    const names = d.features.map((f: { name: string }) => f.name);
    for (const f of ["proc connector", "taskstats", "cgroup v2", "child subreaper"])
      expect(names).toContain(f);
    // CI runs as root on the host: both netlink sources must be usable there
    expect(d.capture).toBe("connector+taskstats");
    expect(r.code).toBe(0);
    const human = await run(["doctor"], { env });
    expect(human.stdout).toContain("spawn    fd");
  });

  test("logs without a log file explains that the daemon never ran", async () => {
    const r = await run(["logs"], { env: isolatedEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the daemon has not run yet");
  });
});
