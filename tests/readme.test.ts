/**
 * The README's "Using it" block runs as written: in a copy of this checkout (its tracked and new files,
 * with the node_modules `npm ci` made) and a fresh shell whose PATH has no node_modules/.bin, against a
 * small pipeline the test provides. Only the state and runtime dirs are redirected (to a temp dir).
 */
import { afterAll, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { stopDaemon } from "./helpers/daemon.ts";
import { ROOT, cleanupTemp, tempDir } from "./helpers/harness.ts";

const state = tempDir();
const env: Record<string, string> = {
  // a fresh login shell's PATH: node and npm come from the system, nothing from the checkout
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: process.env.HOME ?? "/root",
  LANG: "C.UTF-8",
  NO_COLOR: "1",
  TRACER_STATE_DIR: join(state, "state"),
  TRACER_RUNTIME_DIR: join(state, "run"),
};
afterAll(async () => {
  await stopDaemon(env);
  cleanupTemp();
});

/** The first ```sh block after the "## Using it" heading. */
function usingIt(readme: string): string {
  const at = readme.indexOf("\n## Using it\n");
  expect(at).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block).not.toBeNull();
  return block![1]!;
}

/** This checkout as a fresh clone would have it: tracked and untracked-but-not-ignored files. */
function copyCheckout(to: string) {
  const ls = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
  });
  expect(ls.exitCode).toBe(0);
  for (const f of ls.stdout.toString().split("\0").filter(Boolean)) {
    const src = join(ROOT, f);
    if (!existsSync(src)) continue; // deleted in the working tree
    mkdirSync(dirname(join(to, f)), { recursive: true });
    copyFileSync(src, join(to, f));
    chmodSync(join(to, f), statSync(src).mode & 0o777);
  }
  symlinkSync(join(ROOT, "node_modules"), join(to, "node_modules"));
}

test("README 'Using it' runs as written in a fresh shell", async () => {
  const block = usingIt(readFileSync(join(ROOT, "README.md"), "utf8"));
  expect(block).toContain("tracer run -- ./my-pipeline.sh in/ out/");
  const repo = join(tempDir(), "tracer");
  copyCheckout(repo);
  // the user's pipeline
  mkdirSync(join(repo, "in"));
  writeFileSync(join(repo, "in", "a.txt"), "b\na\nc\n");
  writeFileSync(
    join(repo, "my-pipeline.sh"),
    '#!/bin/sh\nset -e\nmkdir -p "$2"\nsort "$1/a.txt" > "$2/sorted.txt"\ngzip -c "$2/sorted.txt" > "$2/sorted.gz"\n',
  );
  chmodSync(join(repo, "my-pipeline.sh"), 0o755);

  // the shell really is fresh: no bun, no tracer on its PATH
  const which = Bun.spawnSync(["bash", "-c", "command -v bun || command -v tracer || echo none"], { env });
  expect(which.stdout.toString().trim()).toBe("none");

  const sh = Bun.spawn(["bash", "-c", `set -euo pipefail\n${block}\necho "README-BLOCK-DONE"`], {
    cwd: repo,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(sh.stdout).text(),
    new Response(sh.stderr).text(),
    sh.exited,
  ]);
  if (code !== 0) console.error(out, err);
  expect(code).toBe(0);
  expect(out).toContain("README-BLOCK-DONE");
  expect(existsSync(join(repo, "dist", "tracer"))).toBe(true);
  expect(readFileSync(join(repo, "out", "sorted.txt"), "utf8")).toBe("a\nb\nc\n");
  // tracer report printed the pipeline's processes; the HTML report was written
  expect(out).toMatch(/sort in\/\/a\.txt|\[sort\]/);
  expect(out).toMatch(/status +done, exit 0/);
  expect(readFileSync(join(repo, "r.html"), "utf8")).toContain("<svg");
  // `tracer runs` listed the recorded run and the daemon's
  expect(out).toMatch(/\bdefault\b.*my-pipeline\.sh in\/ out\//);
  expect(err).not.toContain("command not found");
}, 180_000);
