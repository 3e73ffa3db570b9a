#!/usr/bin/env bash
# Default-model candidate v6 (issue 15): fine-tunes the shipped v5 (--init default) on v5's data, a
# quarter of v5's learning rate, 36 000 steps, to find out whether the schedule is what keeps v5 from
# deblurring. v5 (joint) leaves blurred photos exactly as they were (validation blur 23.07 dB against
# 23.92 for the input), while a blur-only run of the same network gains +0.7 dB in 5000 steps
# (runs/blur-only, 2026-12-03): mixing every degradation in every batch, the paper's "pollution".
#     bash recipes/train_v6.sh joint     # all eight tasks in every batch, as v5
#     bash recipes/train_v6.sh review    # one task per stage, blur last, half of each batch replayed
#                                        # from the hardest samples of the earlier stages
# Each starts, or resumes when its run folder (RUN_DIR, default training/v6-SCHEDULE) holds a checkpoint.
# State on 2026-12-03: review finished (benchmarks/results/review_ablation_v6.txt: mean validation 20.91 dB,
# v5 21.23, not shipped). joint stopped at step 20 500 of 36 000; at step 22 500 its mean validation was
# 21.28 dB against v5's 21.23: v5's recipe has reached its plateau on this network. Its checkpoint was
# removed from the tree on 2026-12-04 (recipes/train_v7.sh, the large network, replaces it); it is in the
# history at commit 3084fa7 (training/v6-joint) if anyone wants to continue it. "--init default" means
# v5 only while v5 is the bundled default; a resume reloads the checkpoint and does not depend on it.
# Run from the repository root with shared/ beside it, after `make install`; OMP_NUM_THREADS picks threads.
set -euo pipefail
schedule=${1:?usage: train_v6.sh joint|review}; shift
run_dir=${RUN_DIR:-training/v6-$schedule}
case $schedule in
  joint) stages=blur,noise,rain,snow,haze,lowlight,rain+haze,lowlight+noise; steps=4500  # x 8 stages, as review
         schedule_args=(--schedule joint) ;;
  review) stages=noise,rain,snow,haze,lowlight,rain+haze,lowlight+noise,blur; steps=4500
          schedule_args=(--schedule review --review-ratio 0.5 --review-decay 1.0 --memory-size 512) ;;
  *) echo "usage: train_v6.sh joint|review" >&2; exit 2 ;;
esac
resume=()
[[ -f "$run_dir/checkpoint.safetensors" ]] && resume=(--resume)
exec .venv/bin/uhdrestore train --init default \
  --stages "$stages" "${schedule_args[@]}" \
  --clean ../shared/data/photos --clean ../shared/data/train-photos \
  --holdout-list benchmarks/validation_photos.tsv --jpeg-downscale 2 \
  --iterations "$steps" --lr 5e-4 --patch-size 64 --view-size 128 --view-max 384 --min-scale 0.25 \
  --jpeg-after 0.3 --batch-size 8 --clean-fraction 0.3 --keep-changes 0.5 --severity 0.05,1 --pool-size 6000 \
  --val-size 32 --val-every 4500 --checkpoint-every 500 --cache-gb 4 \
  --run-dir "$run_dir" "${resume[@]}" "$@"
