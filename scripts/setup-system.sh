#!/usr/bin/env bash
# Install the Debian packages tracer's tests and benchmarks use as real peers. Idempotent; needs root
# (or sudo). Skips apt entirely when everything is already there.
set -euo pipefail
PKGS=(ca-certificates minisign tini util-linux python3 procps forkstat perl-base openssl curl chromium snakemake bwa samtools)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
