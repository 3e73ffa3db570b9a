#!/usr/bin/env bash
# Which network size validates best at a fixed number of training steps (issue 15's scaling study)?
# Trains the small, base and large presets with the v5 recipe (recipes/train_v5.sh) cut to
# ITERATIONS per stage (default 1000: 8000 steps), then scores each on the foreign recipes over the
# validation list (2 photos per content group, whole photos) and times the network on a megapixel.
# One thread per run, so a second job can share the machine; about 1 hour for the three.
#     bash benchmarks/scaling_study.sh [OUT_DIR] [ITERATIONS]      # defaults: runs/scaling 1000
# VARIANTS picks the runs (default "small base large"); a name ending in -dark also gives the context
# the dark channel (train --dark-channel):  VARIANTS="base-dark large-dark" bash benchmarks/scaling_study.sh
# Then: .venv/bin/python benchmarks/scaling_table.py OUT_DIR  (the table of benchmarks/results/scaling_study.txt)
set -euo pipefail
out=${1:-runs/scaling}
iterations=${2:-1000}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$out"
for variant in ${VARIANTS:-small base large}; do
  preset=${variant%-dark}
  extra=()
  [[ "$variant" == *-dark ]] && extra=(--dark-channel)
  if [[ ! -f "$out/$variant/model/model.safetensors" ]]; then
    # train_v5.sh resumes a stopped run by itself; later options override the recipe's
    RUN_DIR="$out/$variant" bash recipes/train_v5.sh --preset "$preset" "${extra[@]}" --iterations "$iterations" \
      --val-every "$iterations" --cache-gb 3 --quiet
  fi
  .venv/bin/python benchmarks/quality.py --model "$out/$variant/model" --foreign --limit 2 --views whole \
    --json "$out/$variant.json" > "$out/$variant.txt"
done
.venv/bin/python benchmarks/scaling_table.py "$out"
