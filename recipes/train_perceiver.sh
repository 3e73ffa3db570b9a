#!/usr/bin/env bash
# Trains candidate 6 of the degradation perceiver (bundled: weights/perceiver/, version 4; issue 20) on the varied
# photos of ../shared/data/photos plus the twelve nature photos, with the validation list of the
# default model (benchmarks/validation_photos.tsv) held out, and the bundled restorer's outputs as the
# "medium" (imperfectly restored) examples. benchmarks/foreign.py's recipes are never trained on.
# 10% of the training photos are kept aside to calibrate the per-kind detection thresholds on (3% of
# their clean examples flagged at most: --calibration-share, --clean-false-alarms).
# Candidate 6 against 5: a network of width 24 (16 before: 2x the compute, 0.36 M parameters), 24 000
# examples (20 000), and the sparse "crisp" snow among them (degrade/snow.py).
# About 80 minutes on 2 CPU cores (generating the examples is about a third of it).
# Candidate 7 (not shipped; docs/model-history.md) was this script with: --width 12 --sparse-cues
# Candidate 8 (not shipped either) was: --width 16 --sparse-cues. Version 4, the bundled one, was made by
# this script at commit b224c76 (20 000 examples, width 16; the examples have changed since).
# Run from the repository root with shared/ beside it, after `make install`:
#     bash recipes/train_perceiver.sh [RUN_DIR]        # RUN_DIR defaults to runs/perceiver
# An interrupted run continues with: bash recipes/train_perceiver.sh RUN_DIR --resume
# Then compare before replacing weights/perceiver/:
#     .venv/bin/python benchmarks/perceiver.py --perceiver RUN_DIR/model
set -euo pipefail
run_dir=${1:-runs/perceiver}
shift || true
exec .venv/bin/uhdrestore train-perceiver \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv \
  --examples 24000 --validation-examples 1000 --scenes 48 --steps 4500 --batch-size 64 --lr 2e-3 --width 24 \
  --restorer default --run-dir "$run_dir" "$@"
