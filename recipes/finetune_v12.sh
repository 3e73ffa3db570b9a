#!/usr/bin/env bash
# Default-model candidate v12 (issue 15): v5 fine-tuned on all its tasks plus sharp rain (`rain:sharp`:
# unsoftened 1-px streaks with no veil, which v5 leaves in place), with the log-MSE loss.
# Why: v5 gains +1.2 dB on the foreign Rain100L-style recipe and +0.0 on our own sharp rain; a 4000-step
# fine-tune of v5 on rain:sharp alone reaches +5.7 dB on the foreign recipe (log MSE; +4.2 with Charbonnier)
# but forgets heavy rain (benchmarks/results/recipe_experiments.md, "Sharp rain"). Here it is mixed with
# every v5 task, two of ten tasks carrying sharp streaks. 10 tasks x 1500 joint steps (15 000 steps).
# Run from the repository root with shared/ beside it, after `make install`:
#     OMP_NUM_THREADS=2 bash recipes/finetune_v12.sh             # resumes when its run folder has a checkpoint
# Then compare with v5 before shipping: benchmarks/quality.py --model RUN_DIR/model --foreign --limit 4.
# Result (2026-12-07): a wash against v5 (+4.37 against +4.33 dB whole, light rain +1.52 against +1.18), not
# shipped; it did not learn sharp rain (docs/model-history.md, "candidate v12").
set -euo pipefail
run_dir=${RUN_DIR:-training/v12}
resume=()
[[ -f "$run_dir/checkpoint.safetensors" ]] && resume=(--resume)
exec .venv/bin/uhdrestore train --init "${INIT:-training/v5/model}" --lr 0.001 --loss psnr \
  --stages blur,noise,rain,rain:sharp,snow,haze,lowlight,rain+haze,lowlight+noise,rain:sharp+noise \
  --schedule joint --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --iterations 1500 --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --jpeg-after 0.3 \
  --batch-size 8 --clean-fraction 0.3 --keep-changes 0.5 --severity 0.05,1 --pool-size 6000 \
  --val-size 32 --val-every 5000 --checkpoint-every 500 --cache-gb 5 \
  --run-dir "$run_dir" "${resume[@]}" "$@"
