/**
 * `tracer run` hands CMD its arguments, environment and working directory byte for byte, and records
 * them losslessly, when they hold bytes that are not UTF-8 (src/run/own.ts). Bun decodes its own argv
 * and environ lossily (U+FFFD): CMD got EF BF BD for $'\xff' before. The truth is what CMD itself sees
 * (printf of its argument, env(1), ls of a file so named) and the bytes given to execve by sh.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/** Run `script` with sh (printf's octal escapes make the raw bytes); stdout as bytes. */
async function shBytes(script: string, env: Record<string, string>, cwd?: string) {
  await ensureBuilt();
  const p = Bun.spawn(["sh", "-c", script], { env: { ...env, BIN }, cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).bytes(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { out, err, code };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe.skipIf(process.platform !== "linux")("bytes that are not UTF-8 reach CMD as given", () => {
  test("an argument: printf prints the two bytes ff fe, and the run and the process record \\udcff\\udcfe", async () => {
    const env = isolatedEnv();
    const r = await shBytes(`exec "$BIN" run --quiet -- /usr/bin/printf %s "$(printf '\\377\\376')"`, env);
    expect(r.code).toBe(0);
    expect(hex(r.out)).toBe("fffe");
    const rep = JSON.parse((await run(["report", "--json"], { env })).stdout) as {
      run: { command: string[] };
      processes: { argv: string[] | null }[];
    };
    expect(rep.run.command).toEqual(["/usr/bin/printf", "%s", "\udcff\udcfe"]);
    expect(rep.processes[0]!.argv).toEqual(["/usr/bin/printf", "%s", "\udcff\udcfe"]);
  });

  test("a file named with such a byte can be the argument: ls finds it (exit 0)", async () => {
    const env = isolatedEnv();
    const dir = tempDir();
    const r = await shBytes(
      `cd "${dir}" && : > "$(printf 'f\\377')" && exec "$BIN" run --quiet -- ls "$(printf 'f\\377')"`,
      env,
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(hex(r.out)).toBe(Buffer.from("f\xff\n", "latin1").toString("hex"));
  });

  test("the environment: a value and a name with such a byte reach env(1) exactly", async () => {
    const env = isolatedEnv();
    const r = await shBytes(
      `exec env "V=$(printf '\\377z')" "$(printf 'K\\376')=1" "$BIN" run --quiet -- /usr/bin/env`,
      env,
    );
    expect(r.code).toBe(0);
    const lines = Buffer.from(r.out).toString("latin1").split("\n");
    expect(lines).toContain("V=\xffz");
    expect(lines).toContain("K\xfe=1");
  });

  test("the working directory: the run's cwd is recorded with its byte (\\udcfe), as the process's is", async () => {
    const env = isolatedEnv();
    const base = tempDir();
    const r = await shBytes(
      `d="${base}/$(printf 'd\\376')" && mkdir "$d" && cd "$d" && exec "$BIN" run --quiet -- /bin/pwd`,
      env,
    );
    expect(r.code).toBe(0);
    expect(hex(r.out)).toBe(Buffer.from(`${base}/d\xfe\n`, "latin1").toString("hex"));
    const rep = JSON.parse((await run(["report", "--json"], { env })).stdout) as {
      run: { cwd: string };
      processes: { cwd: string | null }[];
    };
    expect(rep.run.cwd).toBe(`${base}/d\udcfe`);
    expect(rep.processes[0]!.cwd).toBe(`${base}/d\udcfe`);
  });
});
