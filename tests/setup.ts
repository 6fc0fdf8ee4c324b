// Preloaded by `bun test` (bunfig.toml): make sure the compiled binary exists before any test uses it.
import { ensureBuilt } from "./helpers/harness.ts";
await ensureBuilt();
