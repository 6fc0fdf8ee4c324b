// Preloaded by `bun test` (bunfig.toml): make sure the compiled binary exists before any test uses it.
import { afterAll } from "bun:test";
import { ensureBuilt } from "./helpers/harness.ts";
import { removeSharedDirs } from "./helpers/shared-dirs.ts";
await ensureBuilt();

// fixtures shared across test files (tests/helpers/bigrun.ts) live until the whole run ends
afterAll(removeSharedDirs);
