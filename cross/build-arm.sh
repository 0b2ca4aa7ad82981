#!/usr/bin/env bash
# Builds aarch64 and armv7 binaries with Debian's cross gcc, verifies the models with them under
# qemu, runs the workspace tests for aarch64 under qemu-user, and prints the binary sizes.
#
# Needs: gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross
# libc6-dev-armhf-cross qemu-user clang libclang-dev, and the rustup targets from
# rust-toolchain.toml
# (scripts/test-all.sh installs them). Usage: cross/build-arm.sh [--no-tests] [--dist]
set -euo pipefail
cd "$(dirname "$0")/.."

run_tests=1
[[ " $* " == *" --no-tests "* ]] && run_tests=0

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
export CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc
export AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf"
# The camera feature's bindgen step (nokhwa's V4L2 bindings) runs clang for the target: point it
# at Debian's cross sysroots so the kernel headers and struct layouts are the target's.
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=/usr/aarch64-linux-gnu -I/usr/aarch64-linux-gnu/include"
export BINDGEN_EXTRA_CLANG_ARGS_armv7_unknown_linux_gnueabihf="--sysroot=/usr/arm-linux-gnueabihf -I/usr/arm-linux-gnueabihf/include"

# Features the ARM build ships and tests: V4L2 cameras (needs clang + libclang-dev on the build
# machine); the tests also cover the optional sled backend.
ship_features="${EDGE_RUNTIME_SHIP_FEATURES-edge-runtime/camera}"
test_features="edge-runtime/store-sled${ship_features:+ $ship_features}"

size_of() { stat -c %s "$1" | awk '{ printf "%.1f MiB (%d bytes)", $1 / 1048576, $1 }'; }

# CI builds the release profile (no LTO): the aarch64 tests share its dependency build. The
# shipped binaries use the dist profile (fat LTO, one codegen unit); `--dist` builds them too,
# a second full build per target, so CI leaves it out.
profile=release
target_dir=${CARGO_TARGET_DIR:-target}
[[ " $* " == *" --dist "* ]] && profile=dist

# With the tests on the release profile, the aarch64 test build makes the aarch64 binary too
# (the shipped features plus the sled backend): a separate aarch64 build would be a third full
# build of the dependency set for the same code, about 9 minutes on 2 cores. armv7 is built with
# exactly the shipped features, so the build without the sled backend is compiled too.
reuse_test_build=0
[[ $run_tests == 1 && $profile == release ]] && reuse_test_build=1
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
  if [[ $target == aarch64-unknown-linux-gnu && $reuse_test_build == 1 ]]; then
    echo "== $profile test build for $target (its edge-runtime binary has the features: $test_features)"
    cargo test --release --locked --target "$target" --workspace --features "$test_features" --no-run
    continue
  fi
  echo "== $profile build for $target"
  cargo build --profile "$profile" --locked --target "$target" -p edge-runtime ${ship_features:+--features "$ship_features"}
done

echo "== $profile binary sizes"
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
  bin="$target_dir/$target/$profile/edge-runtime"
  echo "$target: $(size_of "$bin")"
  file "$bin" 2>/dev/null | sed 's/^/  /' || true
done

echo "== edge-runtime version under qemu"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$target_dir/aarch64-unknown-linux-gnu/$profile/edge-runtime" version
qemu-arm -L /usr/arm-linux-gnueabihf "$target_dir/armv7-unknown-linux-gnueabihf/$profile/edge-runtime" version

echo "== the ARM binaries verify every model under qemu (sha256, tract load, test vector)"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$target_dir/aarch64-unknown-linux-gnu/$profile/edge-runtime" model verify --manifest models/manifest.toml
qemu-arm -L /usr/arm-linux-gnueabihf "$target_dir/armv7-unknown-linux-gnueabihf/$profile/edge-runtime" model verify --manifest models/manifest.toml

if [[ $run_tests == 1 ]]; then
  echo "== workspace tests for aarch64 under qemu-user"
  # Tests that start the binary run it through qemu too: the kernel cannot exec ARM code.
  export EDGE_RUNTIME_TEST_RUNNER="$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
  # Tests that need serial-port ioctls check this and skip with the reason (qemu-user lacks them).
  export EDGE_RUNTIME_UNDER_QEMU=1
  cargo test --release --locked --target aarch64-unknown-linux-gnu --workspace --features "$test_features" -- --show-output
fi
