#!/usr/bin/env bash
# Re-trains the bundled default model (weights/, v4) from the training photos: about 63 minutes on
# 2 CPU cores (one thread: set OMP_NUM_THREADS=1 to run two trainings side by side at the same speed).
# Run from the repository root with shared/ beside it, after `make install`:
#     bash recipes/train_default.sh [RUN_DIR]        # RUN_DIR defaults to runs/default
# An interrupted run continues with: bash recipes/train_default.sh RUN_DIR --resume
# Then compare before replacing weights/: .venv/bin/python benchmarks/quality.py --model RUN_DIR/model
set -euo pipefail
run_dir=${1:-runs/default}
shift || true
exec .venv/bin/uhdrestore train \
  --stages blur,noise,rain,snow,haze,lowlight,rain+haze,lowlight+noise --order auto \
  --clean ../shared/data/train-photos --holdout GreenMeadow.jpg,Dune.jpg --scenes 48 \
  --iterations 5000 --patch-size 64 --view-size 128 --view-max 384 --jpeg-after 0.3 --batch-size 8 \
  --clean-fraction 0.35 --severity 0.1,1 \
  --review-ratio 0.5 --review-decay 0.85 --memory-size 512 --stage-lr-decay 0.85 \
  --val-every 1000 --checkpoint-every 500 --run-dir "$run_dir" "$@"
