#!/usr/bin/env bash
# The README's main job: build the binary, then show the daemon's lifecycle end to end.
# State goes to .demo/ in this checkout so the demo never touches a tracer you already run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export TRACER_STATE_DIR="$PWD/.demo/state" TRACER_RUNTIME_DIR="$PWD/.demo/run"
mkdir -p .demo && chmod 700 .demo

bun scripts/build.ts
T=./dist/tracer
echo "+ tracer --version"; $T --version
echo "+ tracer init --pipeline demo --run first"; $T init --pipeline demo --run first
echo "+ tracer info"; $T info
echo "+ tracer stop"; $T stop
echo "+ tracer terminate"; $T terminate
