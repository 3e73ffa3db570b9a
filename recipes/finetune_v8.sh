#!/usr/bin/env bash
# Second half of default-model candidate v8 (issue 15), once recipes/train_v8.sh has finished its 120 000 steps:
# replay the training photos v8 damages when clean (--hard-clean) in a short fine-tune, as was done for v5
# (recipe_experiments.md: validation photos damaged 8% -> 5%, training photos 59 -> 18, foreign average
# within 0.03 dB). From scratch the same replay held the network back (v7, stopped), so it comes last.
#   1. export v8 and list the training photos it damages (whole, long side <= 768; about 20 minutes);
#   2. 8 x 2500 joint steps from v8 at a quarter of the learning rate, v5's data settings, the list replayed.
# Run from the repository root with shared/ beside it, after `make install`:
#     OMP_NUM_THREADS=2 bash recipes/finetune_v8.sh      # resumes step 2 when its run folder has a checkpoint
# Then compare with v5 before shipping (recipes/train_v8.sh's header: quality.py --foreign, context_swap.py).
set -euo pipefail
model=${MODEL_DIR:-runs/v8-model}
list=${HARD_CLEAN:-training/hard_clean_v8.tsv}
run_dir=${RUN_DIR:-training/v8-ft}
[[ -f "$model/model.safetensors" ]] || .venv/bin/uhdrestore export training/v8 -o "$model"
[[ -f "$list" ]] || .venv/bin/python recipes/hard_clean.py "$list" --model "$model"
resume=()
[[ -f "$run_dir/checkpoint.safetensors" ]] && resume=(--resume)
exec .venv/bin/uhdrestore train --init "$model" --lr 0.0005 \
  --stages blur,noise,rain,snow,haze,lowlight,rain+haze,lowlight+noise --schedule joint \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --hard-clean "$list" \
  --iterations 2500 --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --jpeg-after 0.3 \
  --batch-size 8 --clean-fraction 0.3 --keep-changes 0.5 --severity 0.05,1 --pool-size 6000 \
  --val-size 32 --val-every 2500 --checkpoint-every 500 --cache-gb 6 \
  --run-dir "$run_dir" "${resume[@]}" "$@"
