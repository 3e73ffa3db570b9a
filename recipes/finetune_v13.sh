#!/usr/bin/env bash
# Default-model candidate v13 (issue 15): teach v5 sharp rain first, then win the other tasks back.
# Why: v12 (recipes/finetune_v12.sh) mixed sharp rain into all ten tasks from the start and never learned it
# (24.00 dB in, 24.08 out on its validation patches), while 4000 steps on sharp rain and our own rain alone
# (step 1 here) reach 29.6 dB on the same patches and +2.7 dB (whole) on the foreign Rain100L-style recipe,
# Rain100H-style kept (+5.6). Step 2 runs every task jointly from there at a lower learning rate.
# Run from the repository root with shared/ beside it, after `make install`:
#     OMP_NUM_THREADS=2 bash recipes/finetune_v13.sh      # each step resumes when its run folder has a checkpoint
# Then: python benchmarks/quality.py --model training/v13/model --foreign --limit 4 (compare with v5).
# Result (2026-12-07): light rain +2.01 dB whole (v5 +1.18), average +4.24 (v5 +4.33); not shipped
# (docs/model-history.md, "candidate v13").
set -euo pipefail
run_dir=${RUN_DIR:-training/v13}
sharp_dir="$run_dir-sharp"
init=${INIT:-training/v5/model}  # v5, the default model until v21
common=(--schedule joint --clean ../shared/data/photos --clean ../shared/data/train-photos
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2
  --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --batch-size 8
  --val-size 32 --loss psnr --jpeg-after 0.3 --keep-changes 0.5 --clean-fraction 0.3 --severity 0.05,1)
resume() { [[ -f "$1/checkpoint.safetensors" ]] && echo --resume || true; }

if [[ ! -f "$sharp_dir/model/model.safetensors" ]]; then  # step 1: sharp rain and our rain, 4000 steps
  .venv/bin/uhdrestore train --init "$init" --stages rain:sharp,rain --iterations 2000 --lr 0.002 \
    --pool-size 4000 --val-every 4000 --checkpoint-every 1000 --cache-gb 1 "${common[@]}" \
    --run-dir "$sharp_dir" $(resume "$sharp_dir")
fi
# step 2: every v5 task plus the two sharp-rain ones, 10 x 600 joint steps
exec .venv/bin/uhdrestore train --init "$sharp_dir/model" --lr 0.001 \
  --stages blur,noise,rain,rain:sharp,snow,haze,lowlight,rain+haze,lowlight+noise,rain:sharp+noise \
  --iterations 600 --pool-size 6000 --val-every 3000 --checkpoint-every 500 --cache-gb 5 "${common[@]}" \
  --run-dir "$run_dir" $(resume "$run_dir") "$@"
