#!/usr/bin/env bash
# Does `train --quality-loss` help? Two runs on the same budget (rain, haze, noise; 600 iterations per
# stage; the default model's data settings), one without and one with the quality-aware term, then
# benchmarks/quality.py on each. About 12 minutes on 2 CPU cores. Run from the repository root:
#     bash benchmarks/quality_loss_ablation.sh [OUT_DIR] [LAMBDA]     # defaults: runs/quality-ablation 0.1
set -euo pipefail
out=${1:-runs/quality-ablation}
weight=${2:-0.1}
common=(--stages rain,haze,noise --clean ../shared/data/train-photos --holdout GreenMeadow.jpg,Dune.jpg
        --iterations 600 --patch-size 64 --view-size 128 --jpeg-after 0.3 --batch-size 8
        --clean-fraction 0.4 --severity 0.3,1 --review-ratio 0.5 --review-decay 0.85 --memory-size 512
        --stage-lr-decay 0.85 --val-every 600 --quiet)
for name in off on; do
  extra=()
  [ "$name" = on ] && extra=(--quality-loss "$weight")
  .venv/bin/uhdrestore train "${common[@]}" "${extra[@]}" --run-dir "$out/$name" --overwrite
  .venv/bin/python benchmarks/quality.py --model "$out/$name/model" --kinds rain,haze,noise \
    --json "$out/$name.json" > "$out/$name.txt"
done
for name in off on; do
  echo "== quality loss $name =="
  grep -E "^clean " "$out/$name.txt"
  sed -n '/^# summary/,/^average/p' "$out/$name.txt"
done
