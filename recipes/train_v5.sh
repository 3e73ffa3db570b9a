#!/usr/bin/env bash
# Trains default-model candidate v5 (issue 15): the varied photos of ../shared/data/photos plus the twelve
# nature photos, the validation list benchmarks/validation_photos.tsv held out, all eight tasks mixed in
# every batch (joint: the schedule that validated best in the last review/sequential/joint ablation,
# benchmarks/results/review_ablation_v4.txt), harmless changes trained as their own target.
# A long run: 120 000 steps, about 3 hours at ~11 steps/s on one core. It is meant to be stopped and
# resumed many times; its checkpoint (training/v5/checkpoint.safetensors, one file, overwritten every
# 500 steps) is committed, so a fresh clone continues where the last session stopped:
#     bash recipes/train_v5.sh            # starts, or resumes when training/v5 holds a checkpoint
# Check it mid-run:  .venv/bin/uhdrestore export training/v5 -o runs/v5-now
#                    .venv/bin/python benchmarks/quality.py --model runs/v5-now ...
# Run from the repository root with shared/ beside it, after `make install`. OMP_NUM_THREADS picks the
# threads (results differ in the last bits between thread counts, not in quality).
set -euo pipefail
run_dir=${RUN_DIR:-training/v5}
resume=()
[[ -f "$run_dir/checkpoint.safetensors" ]] && resume=(--resume)
exec .venv/bin/uhdrestore train \
  --stages blur,noise,rain,snow,haze,lowlight,rain+haze,lowlight+noise --schedule joint \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --iterations 15000 --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --jpeg-after 0.3 \
  --batch-size 8 --clean-fraction 0.3 --keep-changes 0.5 --severity 0.05,1 --pool-size 6000 \
  --val-size 32 --val-every 2000 --checkpoint-every 500 --cache-gb 10 \
  --run-dir "$run_dir" "${resume[@]}" "$@"
