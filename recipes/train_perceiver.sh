#!/usr/bin/env bash
# Re-trains the bundled degradation perceiver (weights/perceiver/) from the training photos: about
# 45 minutes on 2 CPU cores (version 2's smaller recipe took 32; version 3's time was not recorded).
# Run from the repository root with shared/ beside it, after `make install`:
#     bash recipes/train_perceiver.sh [RUN_DIR]        # RUN_DIR defaults to runs/perceiver
# An interrupted run continues with: bash recipes/train_perceiver.sh RUN_DIR --resume
# Then compare before replacing weights/perceiver/:
#     .venv/bin/python benchmarks/perceiver.py --perceiver RUN_DIR/model
set -euo pipefail
run_dir=${1:-runs/perceiver}
shift || true
exec .venv/bin/uhdrestore train-perceiver \
  --clean ../shared/data/train-photos --holdout GreenMeadow.jpg,Dune.jpg \
  --examples 16000 --validation-examples 800 --scenes 48 --steps 4000 --batch-size 64 --lr 2e-3 \
  --restorer default --run-dir "$run_dir" "$@"
