#!/usr/bin/env bash
# Default-model candidate v10 (issue 15): v5 fine-tuned on all its tasks plus crisp snow (sparse opaque
# flakes, which v5 leaves in place), with the log-MSE loss. Why the loss: in short crisp-snow runs from v5
# (benchmarks/results/recipe_experiments.md, "Can the network remove crisp flakes at all") Charbonnier
# learned crisp flakes only with no clean samples in the batch: a flake covers ~2% of the pixels, so it
# gets ~2% of an L1 gradient and the clean (identity) samples held the network where it was. Log MSE
# weighs each sample by 1 / its MSE and learned the flakes with 30% clean samples (+2.5 to +3.9 dB).
# 9 tasks x 1500 joint steps (13 500 steps, about 25 minutes on one core), v5's data settings.
# Run from the repository root with shared/ beside it, after `make install`:
#     OMP_NUM_THREADS=1 bash recipes/finetune_v10.sh             # resumes when its run folder has a checkpoint
#     OMP_NUM_THREADS=1 RUN_DIR=runs/v10-lr1e-3 bash recipes/finetune_v10.sh --lr 0.001
# Then compare with v5 before shipping: benchmarks/quality.py --model RUN_DIR/model --foreign --limit 4.
set -euo pipefail
run_dir=${RUN_DIR:-training/v10}
resume=()
[[ -f "$run_dir/checkpoint.safetensors" ]] && resume=(--resume)
exec .venv/bin/uhdrestore train --init "${INIT:-training/v5/model}" --lr 0.0005 --loss psnr \
  --stages blur,noise,rain,snow,snow:crisp,haze,lowlight,rain+haze,lowlight+noise --schedule joint \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --iterations 1500 --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --jpeg-after 0.3 \
  --batch-size 8 --clean-fraction 0.3 --keep-changes 0.5 --severity 0.05,1 --pool-size 6000 \
  --val-size 32 --val-every 4500 --checkpoint-every 1000 --cache-gb 5 \
  --run-dir "$run_dir" "${resume[@]}" "$@"
