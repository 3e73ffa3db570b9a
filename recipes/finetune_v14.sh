#!/usr/bin/env bash
# Default-model candidate v14 (issue 15): v13 with a larger share of sharp rain in the joint mix.
# Why: v13 (recipes/finetune_v13.sh) learned sharp rain in its first step (29.6 dB on its validation
# patches) and lost part of it in the even ten-task joint step (27.5 dB; foreign light rain +2.0 dB whole,
# issue 15 asks for +3). Here three of eleven tasks carry sharp streaks (rain:sharp+haze added), at a lower
# learning rate, starting from v13 so the other kinds it won back are kept.
# Run from the repository root with shared/ beside it, after `make install` and recipes/finetune_v13.sh:
#     OMP_NUM_THREADS=2 bash recipes/finetune_v14.sh      # resumes when its run folder has a checkpoint
# Then: python benchmarks/quality.py --model training/v14/model --foreign --limit 4 (compare with v5, v13).
set -euo pipefail
run_dir=${RUN_DIR:-training/v14}
init=${INIT:-training/v13/model}
resume=()
[[ -f "$run_dir/checkpoint.safetensors" ]] && resume=(--resume)
exec .venv/bin/uhdrestore train --init "$init" --lr 0.0007 --loss psnr \
  --stages blur,noise,rain,rain:sharp,snow,haze,lowlight,rain+haze,lowlight+noise,rain:sharp+noise,rain:sharp+haze \
  --schedule joint --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --iterations 600 --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --jpeg-after 0.3 \
  --batch-size 8 --clean-fraction 0.3 --keep-changes 0.5 --severity 0.05,1 --pool-size 6000 \
  --val-size 32 --val-every 3300 --checkpoint-every 500 --cache-gb 5 \
  --run-dir "$run_dir" "${resume[@]}" "$@"
