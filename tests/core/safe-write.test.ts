/** `--output` files (src/core/safe-write.ts): a file replaced keeps its permission bits. */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeReplacing } from "../../src/core/safe-write.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("a report made private (chmod 600) stays private when written again; a new one follows the umask", () => {
  const dir = tempDir();
  const target = join(dir, "report.html");
  writeFileSync(target, "old");
  chmodSync(target, 0o600);
  writeReplacing(target, "new");
  expect(readFileSync(target, "utf8")).toBe("new");
  expect(statSync(target).mode & 0o777).toBe(0o600);
  const fresh = join(dir, "fresh.json");
  const umask = process.umask();
  writeReplacing(fresh, "{}");
  expect(statSync(fresh).mode & 0o777).toBe(0o666 & ~umask);
});
