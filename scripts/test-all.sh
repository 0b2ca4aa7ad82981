#!/usr/bin/env bash
# Runs every test of the project: installs what is missing (Debian packages, rustup targets and
# components), then format check, clippy, the test suite on x86_64, its release binary, the
# parser fuzzers, the systemd unit check, and the ARM builds with the aarch64 tests under qemu-user.
# This is the README's test command and what CI (.ci/run) calls.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

step() { echo; echo "=== [$((SECONDS - started))s] $*"; }

step "installing what the tests need (when missing)"
apt_packages=(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross
  libc6-dev-armhf-cross qemu-user systemd file mosquitto mosquitto-clients clang libclang-dev)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "apt packages to install: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# rust-toolchain.toml pins the toolchain; make sure its targets and components are present.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup target add aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf >/dev/null
rustup component add rustfmt clippy >/dev/null

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, both store backends, warnings are errors)"
cargo clippy --locked --workspace --all-targets --features edge-runtime/store-sled -- -D warnings

step "tests on x86_64 (release profile: optimised, no LTO; see Cargo.toml)"
cargo test --release --locked --workspace --features edge-runtime/store-sled -- --show-output

step "the V4L2 camera feature (nokhwa, bindgen) builds and the sensors tests pass with it"
cargo test --release --locked -p edge-sensors --features camera

# The test step built the release binary (with the tests' features: the sled backend besides the
# default one). `cargo build -p edge-runtime` alone would resolve a few dependency features
# differently and rebuild tract and the daemon for the same code; the armv7 build below compiles
# the default features alone.
step "the x86_64 release binary (from the test build)"
target_dir=${CARGO_TARGET_DIR:-target}
stat -c 'x86_64-unknown-linux-gnu: %s bytes' "$target_dir/release/edge-runtime"
"$target_dir/release/edge-runtime" version

step "the shipped binary verifies every model (sha256, tract load, test vector)"
"$target_dir/release/edge-runtime" model verify --manifest models/manifest.toml

step "the README's demo (its binary, without cargo's rebuild) starts, serves and stops on Ctrl-C"
demo_log=$(mktemp)
"$target_dir/release/edge-runtime" demo --http 127.0.0.1:0 >"$demo_log" 2>&1 &
demo_pid=$!
for _ in $(seq 1 600); do
  grep -q "metrics:  http://" "$demo_log" && break
  sleep 0.2
done
demo_url=$(grep -o "http://[0-9.:]*/readyz" "$demo_log" | head -1)
ready=$(curl -fsS "$demo_url" 2>/dev/null || python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$demo_url")
echo "demo $demo_url -> $ready"
[[ $ready == ready* ]] || { cat "$demo_log"; echo "demo not ready"; exit 1; }
kill -INT "$demo_pid"
wait "$demo_pid" || { cat "$demo_log"; echo "demo did not stop cleanly"; exit 1; }
grep -q "stopped cleanly" "$demo_log" || { cat "$demo_log"; exit 1; }
rm -f "$demo_log"

step "fuzzers: every sensors parser for FUZZ_SECS (default 60) seconds"
scripts/fuzz.sh

step "systemd unit"
systemd/verify.sh "$target_dir/release/edge-runtime"

step "ARM: aarch64 and armv7 release builds, aarch64 tests under qemu"
cross/build-arm.sh

step "all tests passed in $((SECONDS - started))s"
