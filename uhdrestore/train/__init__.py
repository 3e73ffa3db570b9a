"""Training with review learning: one degradation at a time, replaying the hard samples of earlier stages.

Where each step of a run happens (`loop.train` calls them in this order):
- config.py: the settings (sections data, review, optim, losses; the old flat layout loads too)
- data.py, scenes.py: clean photos and paired data -> one sample per (seed, stage, split, id)
- pairs.py: which degraded file goes with which clean one (folders, templates, a CSV), and the split
- samples.py: samples -> batch tensors, each synthesised once and cached
- review.py: which samples each step trains on; the hard-sample memory
- objectives.py, losses.py, spn.py, quality.py: the loss of a step
- loop.py: prepare_data, build_trainer, resume_run, run_stage (train_step, validate, checkpoint, close_stage)
- checkpoint.py: safetensors + JSON checkpoints; export.py: the final, per-stage and mid-run model folders
- evaluate.py, report.py: validation scores, metrics.jsonl, the matrix, the plot and the model card
- events.py: what a run tells its display; dist.py: data-parallel under torchrun
- shared.py: what the restorer's and the perceiver's trainers share
- perceiver.py, perceiver_examples.py, perceiver_scores.py: training the degradation perceiver
"""
