// Version and commit are baked in at build time by scripts/build.ts (--define).
// Running from source (`bun src/main.ts`) falls back to package.json's version.
declare const TRACER_VERSION: string | undefined;
declare const TRACER_COMMIT: string | undefined;

import pkg from "../package.json" with { type: "json" };

export const VERSION: string = typeof TRACER_VERSION === "string" ? TRACER_VERSION : `${pkg.version}-dev`;
export const COMMIT: string = typeof TRACER_COMMIT === "string" ? TRACER_COMMIT : "unknown";
