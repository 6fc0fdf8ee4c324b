#!/usr/bin/env bun
/**
 * Screenshot of the HTML report in headless Chromium, for the README.
 *   bun scripts/screenshot.ts                      record demo/pipeline.sh with dist/tracer in a private
 *                                                  state dir, render its HTML report, screenshot it
 *   bun scripts/screenshot.ts --html FILE          screenshot an existing report
 *   --out PNG (default docs/report-screenshot.png), --width PX (default 1024)
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openPage } from "../tests/report/_chromium.ts";

const root = resolve(import.meta.dir, "..");
const { values } = parseArgs({
  options: { html: { type: "string" }, out: { type: "string" }, width: { type: "string" } },
});
const out = resolve(values.out ?? join(root, "docs", "report-screenshot.png"));

async function tracer(args: string[], env: Record<string, string>) {
  const p = Bun.spawn([join(root, "dist", "tracer"), ...args], {
    cwd: root,
    env,
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await p.exited) !== 0) throw new Error(`tracer ${args.join(" ")} failed`);
}

const scratch = mkdtempSync(join(realpathSync(tmpdir()), "tracer-screenshot-"));
try {
  let html = values.html ? resolve(values.html) : join(scratch, "report.html");
  if (!values.html) {
    const env = {
      ...process.env,
      TRACER_STATE_DIR: join(scratch, "state"),
      TRACER_RUNTIME_DIR: join(scratch, "run"),
    } as Record<string, string>;
    await tracer(
      [
        "run",
        "--quiet",
        "--interval",
        "0.1",
        "--name",
        "demo",
        "--pipeline",
        "demo",
        "--",
        "demo/pipeline.sh",
      ],
      env,
    );
    await tracer(["report", "demo", "--format", "html", "--output", html], env);
    html = resolve(html);
  }
  const page = await openPage(html);
  try {
    if (page.errors.length) throw new Error(`the report has errors in Chromium:\n${page.errors.join("\n")}`);
    await Bun.write(out, await page.screenshot(Number(values.width ?? 1024)));
  } finally {
    await page.close();
  }
  process.stderr.write(`wrote ${out}\n`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
