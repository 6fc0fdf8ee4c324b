#!/usr/bin/env bash
# The README's main job: trace the bundled demo pipeline with `tracer run`, then print its report.
# Uses dist/tracer (built by `bun scripts/build.ts`) unless TRACER points at another binary.
set -euo pipefail
cd "$(dirname "$0")/.."
TRACER=${TRACER:-dist/tracer}
if [ ! -x "$TRACER" ]; then
  echo "no $TRACER: build it first with: bun scripts/build.ts" >&2
  exit 1
fi
name="demo-$(date -u +%Y%m%dT%H%M%S)"
rc=0
"$TRACER" run --name "$name" --pipeline demo -- demo/pipeline.sh || rc=$?
echo
"$TRACER" report "$name"
exit "$rc"
