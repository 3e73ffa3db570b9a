#!/usr/bin/env bash
# Fine-tunes the bundled perceiver (weights/perceiver/, version 4) with its own false alarms replayed (issue 20):
# the training photos it flags as degraded though they are clean (whole or in a 512-px crop, as
# benchmarks/perceiver.py judges) give 4000 extra examples, 60% of them clean (train-perceiver --hard-clean;
# listed in RUN_DIR/hard_clean.txt). The other 24 000 examples are train_perceiver.sh's (today's generators:
# the dim low light and the crisp snow that version 4 never saw). 2000 steps at a quarter of its learning rate,
# then the thresholds are calibrated again on the 10% of training photos kept aside.
# The validation list (benchmarks/validation_photos.tsv) is held out; benchmarks/foreign.py is never trained on.
# About 40 minutes on 2 CPU cores (generating the examples is most of it; a second run reuses them).
# Made perceiver candidate 9 (2026-12-06, not shipped: docs/model-history.md has its figures).
# Run from the repository root with shared/ beside it, after `make install`:
#     bash recipes/finetune_perceiver.sh [RUN_DIR]        # RUN_DIR defaults to runs/perceiver-ft
# An interrupted run continues with: bash recipes/finetune_perceiver.sh RUN_DIR --resume
# Then compare before replacing weights/perceiver/:
#     .venv/bin/python benchmarks/perceiver.py --perceiver RUN_DIR/model --per-image RUN_DIR/per_image.tsv
set -euo pipefail
run_dir=${1:-runs/perceiver-ft}
shift || true
exec .venv/bin/uhdrestore train-perceiver \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv \
  --examples 24000 --validation-examples 1000 --scenes 48 --steps 2000 --batch-size 64 --lr 5e-4 --width 16 \
  --init default --hard-clean 4000 --restorer default --run-dir "$run_dir" "$@"
