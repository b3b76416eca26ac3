#!/usr/bin/env bash
# Makes the toolchain rust-toolchain.toml pins available before any cargo
# call: already installed; else the installed stable toolchain when it is
# that very version (linked under the version's name, as rustup cannot link
# a custom toolchain under a release name); else installed by rustup.
set -euo pipefail
want=$(sed -n 's/^channel = "\(.*\)"/\1/p' "$(dirname "$0")/../rust-toolchain.toml")
# rustup's own queries run outside the repository, where the pin does not apply.
cd /
command -v rustup >/dev/null || { echo "setup: rustup not found; install the Rust toolchain $want (https://rustup.rs)" >&2; exit 2; }
if rustup toolchain list | grep -q "^$want-"; then
  # A link made here earlier follows stable: after `rustup update` it is
  # no longer $want, so it goes and the real one is installed below.
  if rustup run "$want" rustc --version | grep -q "^rustc $want "; then
    exit 0
  fi
  echo "setup: the toolchain named $want is not Rust $want any more; replacing it"
  # Only a link drifts; removing it leaves the toolchain it points to alone.
  for link in "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$want-"*; do
    if [[ -L "$link" ]]; then rm -f "$link"; fi
  done
fi
host=$(rustup show | sed -n 's/^Default host: //p')
home=${RUSTUP_HOME:-$HOME/.rustup}
stable="$home/toolchains/stable-$host"
if [[ -n "$host" && -x "$stable/bin/rustc" ]] && "$stable/bin/rustc" --version | grep -q "^rustc $want "; then
  echo "setup: using the installed stable toolchain ($want) for rust-toolchain.toml"
  ln -sfn "$stable" "$home/toolchains/$want-$host"
else
  echo "setup: installing Rust $want (rust-toolchain.toml)"
  rustup toolchain install "$want" --profile minimal --component rustfmt --component clippy
fi
