#!/usr/bin/env bash
# Where tract's time goes, per operator, for every model file in the manifest: tract's own
# profiler (`tract ... dump --profile`), one thread, random inputs of the manifest's shapes,
# batch 1 and 24 for the batched models.
#
#     models/bench/profile.sh [MODEL_FILE_FILTER]
#
# Needs the tract command line tool of the same version as the crate (not in CI; about 10 minutes
# to build on 2 cores):
#     cargo install tract-cli --version 0.23.9 --no-default-features --features onnx
# (or point TRACT at it). Timings are of this machine; only the shares are comparable across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
tract=${TRACT:-tract}
command -v "$tract" >/dev/null || { echo "no tract CLI: see the header of $0" >&2; exit 2; }
filter=${1:-}

# name -> tract input flags, with B for the batch
declare -A inputs=(
  [slotnet]="-i B,3,64,64,f32 -i B,2,64,64,f32 -i B,2,f32 -i B,11,f32"
  [forecaster]="-i B,28,6,f32"
  [recommender]="-i 1,240,f32"
  [text_encoder]="-i input_ids:1,64,i64 -i attention_mask:1,64,i64"
)
declare -A batches=([slotnet]="1 24" [forecaster]="1 24" [recommender]="1" [text_encoder]="1")

for name in slotnet forecaster recommender text_encoder; do
  for file in onnx/$name.int8.onnx onnx/$name.fp32.onnx; do
    [[ -f $file ]] || continue
    [[ -z $filter || $file == *$filter* ]] || continue
    for b in ${batches[$name]}; do
      echo "== $file, batch $b"
      # shellcheck disable=SC2086
      "$tract" "$file" --onnx-ignore-output-shapes --onnx-ignore-value-info ${inputs[$name]//B/$b} \
        -O dump --allow-random-input --profile 2>&1 \
        | sed 's/\x1b\[[0-9;]*m//g' \
        | awk '/Most time consuming operations/ { n = 9 } n > 0 && !/By prefix/ { print; n-- }
               /By prefix/ { n = 0 } /Entire network performance/ { print }'
    done
  done
done
