#!/usr/bin/env bash
# Re-trains the default model v21 (weights/) from nothing: v5's recipe, then the fine-tunes that led from v5
# to v21, each starting from the model of the one before (docs/model-history.md has why each step exists).
#     v5 (recipes/train_v5.sh) -> v13 (finetune_v13.sh: sharp rain) -> v14 (finetune_v14.sh)
#     -> v15-crisp (finetune_v15.sh step 1: crisp snow) -> v17 -> v18 -> v19 -> v20 -> v21 (weighted joint fine-tunes)
# About 2 hours of v5 on one core plus about 4 hours of fine-tunes on 2 cores. Every step resumes from its
# run folder's checkpoint and a finished step is skipped, so the chain can be stopped and re-run at will.
# Run from the repository root with shared/ beside it, after `make install`:
#     OMP_NUM_THREADS=2 bash recipes/train_v21.sh [ROOT]      # run folders ROOT/v5 ... ROOT/v21 (runs/v21-chain)
# Then: python benchmarks/quality.py --model ROOT/v21/model --foreign --guard default (compare with weights/).
set -euo pipefail
root=${1:-runs/v21-chain}
step() {  # step NAME INIT RECIPE: run RECIPE into ROOT/NAME from ROOT/INIT/model, unless it has finished
  local name=$1 init=$2 recipe=$3
  [[ -f "$root/$name/model/model.safetensors" ]] && return 0
  RUN_DIR="$root/$name" INIT="$root/$init/model" bash "recipes/$recipe"
}
[[ -f "$root/v5/model/model.safetensors" ]] || RUN_DIR="$root/v5" bash recipes/train_v5.sh
step v13 v5 finetune_v13.sh
step v14 v13 finetune_v14.sh
[[ -f "$root/v15-crisp/model/model.safetensors" ]] || RUN_DIR="$root/v15" INIT="$root/v14/model" CRISP_ONLY=1 \
  bash recipes/finetune_v15.sh
step v17 v15-crisp finetune_v17.sh
step v18 v17 finetune_v18.sh
step v19 v18 finetune_v19.sh
step v20 v19 finetune_v20.sh
step v21 v20 finetune_v21.sh
