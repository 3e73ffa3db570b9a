#!/usr/bin/env bash
# The weighted joint fine-tune that recipes/finetune_v17.sh to finetune_v20.sh each run with their own
# start, learning rate and stage weights (the data, patch and loss flags of recipes/finetune_v15.sh's step 2).
# Usage, from the repository root: bash recipes/joint_finetune.sh RUN_DIR INIT LR STAGES [train options]
# It resumes when RUN_DIR has a checkpoint.
set -euo pipefail
run_dir=$1 init=$2 lr=$3 stages=$4
shift 4
resume=$([[ -f "$run_dir/checkpoint.safetensors" ]] && echo --resume || true)
exec .venv/bin/uhdrestore train --init "$init" --lr "$lr" --schedule joint --stages "$stages" \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --batch-size 8 \
  --val-size 32 --loss psnr --jpeg-after 0.3 --keep-changes 0.5 --clean-fraction 0.3 --severity 0.05,1 \
  --iterations 500 --pool-size 6000 --checkpoint-every 500 --cache-gb 5 \
  --run-dir "$run_dir" $resume "$@"
