"""Writes the old-layout checkpoint fixture (run once, with the code of commit 184e45a).

For each config below: the JSON state of the checkpoint a run stopped mid-way left (flat
TrainConfig in state["config"]), the names, shapes and dtypes of its tensors, and a
fingerprint (float64 sum and sum of squares per tensor) of the EMA model an uninterrupted
run exports. Tensors themselves are not stored (the smoke network's checkpoint is ~750 KB);
tests/train/test_resume_old.py rebuilds them with the current code and checks they match.

    cd <checkout of 184e45a> && OMP_NUM_THREADS=1 python tests/data/old_checkpoint/make.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.train.test_data import write_photos
from uhdrestore.runtime import resolve_runtime
from uhdrestore.train.checkpoint import load_checkpoint
from uhdrestore.train.config import SMOKE_MODEL, StageConfig, TrainConfig
from uhdrestore.train.dist import Distributed
from uhdrestore.train.loop import _Stopped, train

COMMON = dict(model=SMOKE_MODEL, iterations=8, batch_size=4, patch_size=32, pool_size=8, val_size=2,
              val_patch_size=48, val_every=4, checkpoint_every=4, warmup=2, memory_size=4)
CONFIGS = {
    # review learning, replay, SPN's lagged models, views, JPEG after, harmless changes: stopped in stage 2
    "review": (dict(COMMON, stages=tuple(StageConfig.parse(k) for k in ("rain", "haze")), spn_weight=0.01,
                    view_size=48, view_max=64, jpeg_after=0.3, clean_fraction=0.3, keep_changes=0.5,
                    review_ratio=0.5, stage_lr_decay=0.8), 13),
    # joint, as recipes/train_v5.sh: stopped mid-run
    "joint": (dict(COMMON, stages=tuple(StageConfig.parse(k) for k in ("blur", "rain+haze")), schedule="joint",
                   view_size=48, view_max=64, min_scale=0.25, severity=(0.05, 1.0), jpeg_after=0.3,
                   clean_fraction=0.3, keep_changes=0.5), 13),
}


def fingerprint(tensors: dict[str, torch.Tensor]) -> dict[str, list[float]]:
    return {name: [float(t.double().sum()), float(t.double().pow(2).sum())] for name, t in sorted(tensors.items())}


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        clean = write_photos(Path(temporary) / "clean", count=4, size=(96, 128))
        for name, (settings, stop) in CONFIGS.items():
            config = TrainConfig(**settings)
            kwargs = dict(clean_dir=clean, runtime=resolve_runtime("cpu"), dist=Distributed())
            straight = Path(temporary) / f"{name}-straight"
            result = train(config, run_dir=straight, output_dir=straight / "model", **kwargs)
            stopped = Path(temporary) / f"{name}-stopped"
            try:
                train(config, run_dir=stopped, output_dir=stopped / "model", stop_after=stop, **kwargs)
            except _Stopped:
                pass
            tensors, state = load_checkpoint(stopped / "checkpoint.safetensors")
            record = {"state": state,
                      "tensors": {k: [list(v.shape), str(v.dtype)] for k, v in sorted(tensors.items())},
                      "final_model": fingerprint(load_file(result.output_dir / "model.safetensors")),
                      "final_rows": result.matrix["rows"]}
            (out / f"{name}.json").write_text(json.dumps(record) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
