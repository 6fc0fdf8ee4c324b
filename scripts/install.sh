#!/bin/sh
# tracer bootstrap installer:  curl --proto '=https' --tlsv1.2 -fsSL <release>/install.sh | sudo sh
#
# Installs exactly the version this script was released with, from a fixed URL. The SHA-256 of each
# platform's tarball is pinned below (filled in by the release, like astral's uv installer), so a
# swapped download is refused even without minisign; when `minisign` is installed the tarball and the
# binary are also checked against tracer's release key. POSIX sh; no eval; no fixed /tmp paths; nothing
# from the environment goes into a URL or a path. Later updates: `sudo tracer update` (verified the
# same way by tracer itself).
set -eu

# ---- filled in by the release; nothing below reads user input -----------------------------------
TRACER_VERSION="@VERSION@"
RELEASE_BASE="https://github.com/tracer-dev/tracer/releases"
RELEASE_PUBKEY="RWSK8aaviygaqsudDsY4CX/X8G8SpAXigQFcsOh9rhXi7tQhA+Wcx2EA"
pinned_sha256() {
	case "$1" in
	linux-x64) echo "@SHA256_linux-x64@" ;;
	linux-arm64) echo "@SHA256_linux-arm64@" ;;
	linux-x64-musl) echo "@SHA256_linux-x64-musl@" ;;
	darwin-x64) echo "@SHA256_darwin-x64@" ;;
	darwin-arm64) echo "@SHA256_darwin-arm64@" ;;
	*) echo "" ;;
	esac
}
# --------------------------------------------------------------------------------------------------

BIN_DIR=/usr/local/bin

say() { printf 'tracer-install: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "this installer needs '$1'"; }

detect_target() {
	os=$(uname -s)
	arch=$(uname -m)
	case "$os" in
	Linux) os=linux ;;
	Darwin) os=darwin ;;
	*) die "no tracer release for $os" ;;
	esac
	case "$arch" in
	x86_64 | amd64) arch=x64 ;;
	aarch64 | arm64) arch=arm64 ;;
	*) die "no tracer release for $arch" ;;
	esac
	target="$os-$arch"
	if [ "$os" = linux ] && [ "$arch" = x64 ] && [ -e /lib/ld-musl-x86_64.so.1 ] && [ ! -e /lib64/ld-linux-x86-64.so.2 ]; then
		target="$target-musl"
	fi
	echo "$target"
}

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	else
		shasum -a 256 "$1" | cut -d ' ' -f 1
	fi
}

fetch() { # URL FILE
	curl --proto '=https' --tlsv1.2 -fsSL --retry 2 -o "$2" "$1" || die "download failed: $1"
}

main() {
	need curl
	need tar
	need install
	need mktemp
	[ "$(id -u)" = 0 ] || die "installing into $BIN_DIR needs root: curl ... | sudo sh"
	[ -d "$BIN_DIR" ] && [ ! -L "$BIN_DIR" ] || die "$BIN_DIR does not exist (sudo install -d -m 755 $BIN_DIR)"

	target=$(detect_target)
	pin=$(pinned_sha256 "$target")
	case "$pin" in
	[0-9a-f]*) ;;
	*) die "this installer has no pinned checksum for $target (unreleased script?)" ;;
	esac
	[ "${#pin}" -eq 64 ] || die "bad pinned checksum for $target"

	work=$(mktemp -d) || die "mktemp failed"
	trap 'rm -rf "$work"' EXIT
	trap 'exit 130' INT TERM
	chmod 700 "$work"

	name="tracer-$TRACER_VERSION-$target"
	url="$RELEASE_BASE/download/v$TRACER_VERSION"
	say "downloading $name.tar.gz"
	fetch "$url/$name.tar.gz" "$work/release.tar.gz"
	got=$(sha256_of "$work/release.tar.gz")
	[ "$got" = "$pin" ] || die "checksum mismatch for $name.tar.gz (got $got, pinned $pin)"
	fetch "$url/$name.minisig" "$work/tracer.minisig"

	if command -v minisign >/dev/null 2>&1; then
		fetch "$url/$name.tar.gz.minisig" "$work/release.tar.gz.minisig"
		minisign -Vq -m "$work/release.tar.gz" -x "$work/release.tar.gz.minisig" -P "$RELEASE_PUBKEY" ||
			die "minisign: bad signature on $name.tar.gz"
	else
		say "minisign not found: relying on the pinned SHA-256"
	fi

	mkdir -m 700 "$work/x"
	# only the one member we want; never owners or modes from the archive
	tar -xzf "$work/release.tar.gz" -C "$work/x" --no-same-owner --no-same-permissions tracer ||
		die "could not extract tracer from $name.tar.gz"
	[ -f "$work/x/tracer" ] && [ ! -L "$work/x/tracer" ] || die "the archive holds no regular file 'tracer'"
	if command -v minisign >/dev/null 2>&1; then
		minisign -Vq -m "$work/x/tracer" -x "$work/tracer.minisig" -P "$RELEASE_PUBKEY" ||
			die "minisign: the extracted binary does not match its signature"
	fi

	# write beside the target, then rename over it: atomic on the same filesystem
	tmpbin="$BIN_DIR/.tracer.sh$$"
	tmpsig="$BIN_DIR/.tracer.sig$$"
	install -m 755 -o 0 -g 0 "$work/x/tracer" "$tmpbin" || {
		rm -f "$tmpbin"
		die "could not write to $BIN_DIR"
	}
	install -m 644 -o 0 -g 0 "$work/tracer.minisig" "$tmpsig" || {
		rm -f "$tmpbin" "$tmpsig"
		die "could not write to $BIN_DIR"
	}
	mv -f "$tmpbin" "$BIN_DIR/tracer"
	mv -f "$tmpsig" "$BIN_DIR/tracer.minisig"
	say "tracer $TRACER_VERSION ($target) installed at $BIN_DIR/tracer"
}

main "$@"
