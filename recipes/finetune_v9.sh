#!/usr/bin/env bash
# Default-model candidate v9 (issue 15): v5 fine-tuned with the "crisp" snow look in its snow task.
# Every default model so far leaves sparse opaque flakes in place (foreign round-flake snow: v5 -0.66 dB,
# 6 of 7 content groups +0.00): they were never in its training data, as degrade/snow.py drew crisp
# snow only for the perceiver. Now sample() draws it for a quarter of all snow; this fine-tune shows
# what that alone buys, against the control fine-tune of recipe_experiments.md (same steps, v5's code:
# foreign average +4.30, round-flake snow -0.67).
# 8 x 2500 joint steps from v5 (weights/) at a quarter of its learning rate, v5's data settings; about
# 35-40 minutes on one thread. Resumes when its run folder holds a checkpoint:
#     OMP_NUM_THREADS=1 bash recipes/finetune_v9.sh
# Then: .venv/bin/python benchmarks/quality.py --model training/v9/model --foreign --limit 4
# Run from the repository root with shared/ beside it, after `make install`.
set -euo pipefail
run_dir=${RUN_DIR:-training/v9}
resume=()
[[ -f "$run_dir/checkpoint.safetensors" ]] && resume=(--resume)
exec .venv/bin/uhdrestore train --init weights --lr 0.0005 \
  --stages blur,noise,rain,snow,haze,lowlight,rain+haze,lowlight+noise --schedule joint \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --iterations 2500 --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 --jpeg-after 0.3 \
  --batch-size 8 --clean-fraction 0.3 --keep-changes 0.5 --severity 0.05,1 --pool-size 6000 \
  --val-size 32 --val-every 5000 --checkpoint-every 500 --cache-gb 4 \
  --run-dir "$run_dir" "${resume[@]}" "$@"
