#!/usr/bin/env bash
# Runs every sensors parser fuzzer (cargo fuzz, libFuzzer) for FUZZ_SECS seconds each
# (default 60). Uses the pinned stable toolchain: RUSTC_BOOTSTRAP=1 lets it take the -Z flags
# cargo fuzz passes, so no nightly toolchain is needed. Sanitizer off: the parsers are safe
# Rust; the fuzzers look for panics, overflows and hangs. A crash fails the script and leaves
# the input in sensors/fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../sensors/fuzz"
secs=${FUZZ_SECS:-60}
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
targets=$(cargo fuzz list | tr '\n' ' ')
log=$(mktemp)
for t in $targets; do
  mkdir -p "corpus/$t"
  echo "fuzzing $t for ${secs}s"
  status=0
  cargo fuzz run "$t" --sanitizer none -- -max_total_time="$secs" -timeout=5 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|Done)" "$log" || true
  if ((status != 0)); then
    tail -40 "$log"
    echo "fuzz target $t FAILED (exit $status); the input is in sensors/fuzz/artifacts/$t/"
    exit 1
  fi
done
rm -f "$log"
echo "fuzzers ran ${secs}s each without a crash: $targets"
