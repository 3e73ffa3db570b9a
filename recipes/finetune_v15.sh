#!/usr/bin/env bash
# Default-model candidate v15 (issue 15): teach v14 crisp snow first, then win the other tasks back.
# Why: v14 (recipes/finetune_v14.sh) leaves the foreign simple snow recipe's sparse sharp flakes in place
# (-0.53 dB whole, 36% of photos made worse, the rest +0.0), as v5 left sharp rain: our two drawn snow
# looks are soft flakes under a veil and sparkle under a cast. Our third look, "crisp" (sparse opaque
# flakes in focus, no veil; written for the perceiver), is that kind of snow. v9-v11 mixed crisp snow
# into every task from v5 and never learned it, while crisp snow alone with log MSE was learned
# (recipe_experiments.md). v13 showed the route that works for a new look: a short step on the new look
# beside its sibling (step 1), then every task jointly at a lower learning rate from there (step 2, v14's
# eleven tasks plus crisp snow).
# Run from the repository root with shared/ beside it, after `make install` and recipes/finetune_v14.sh:
#     OMP_NUM_THREADS=2 bash recipes/finetune_v15.sh      # each step resumes when its run folder has a checkpoint
# Then: python benchmarks/quality.py --model training/v15/model --foreign --limit 4 (compare with v5, v14).
set -euo pipefail
run_dir=${RUN_DIR:-training/v15}
crisp_dir="$run_dir-crisp"
init=${INIT:-training/v14/model}
common=(--schedule joint --clean ../shared/data/photos --clean ../shared/data/train-photos
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2
  --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --batch-size 8
  --val-size 32 --loss psnr --jpeg-after 0.3 --keep-changes 0.5 --clean-fraction 0.3 --severity 0.05,1)
resume() { [[ -f "$1/checkpoint.safetensors" ]] && echo --resume || true; }

if [[ ! -f "$crisp_dir/model/model.safetensors" ]]; then  # step 1: crisp snow and our snow, 3000 steps
  .venv/bin/uhdrestore train --init "$init" --stages snow:crisp,snow --iterations 1500 --lr 0.002 \
    --pool-size 4000 --val-every 3000 --checkpoint-every 500 --cache-gb 1 "${common[@]}" \
    --run-dir "$crisp_dir" $(resume "$crisp_dir")
fi
[[ -n ${CRISP_ONLY:-} ]] && exit 0  # the chain of recipes/train_v21.sh needs step 1 only
# step 2: v14's eleven tasks plus crisp snow, 12 x 500 joint steps
exec .venv/bin/uhdrestore train --init "$crisp_dir/model" --lr 0.0007 \
  --stages blur,noise,rain,rain:sharp,snow,snow:crisp,haze,lowlight,rain+haze,lowlight+noise,rain:sharp+noise,rain:sharp+haze \
  --iterations 500 --pool-size 6000 --val-every 3000 --checkpoint-every 500 --cache-gb 5 "${common[@]}" \
  --run-dir "$run_dir" $(resume "$run_dir") "$@"
