"""Helpers both trainers share: the learning-rate schedule, the run-folder guard, the command line."""

from __future__ import annotations

import pytest

from uhdrestore.errors import OutputError
from uhdrestore.train.config import SMOKE_MODEL, StageConfig, TrainConfig
from uhdrestore.train.shared import CHECKPOINT_NAME, check_run_dir, command_line, warmup_cosine


def test_warmup_cosine_rises_then_decays_to_its_floor():
    rates = [warmup_cosine(step, 100, peak=1.0, warmup=10, floor_ratio=0.05) for step in range(120)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))
    assert rates[100] == rates[119] == pytest.approx(0.05)


def test_stage_lr_decay_lowers_the_peak_of_each_later_stage():
    config = TrainConfig(stages=tuple(StageConfig.parse(k) for k in ("rain", "haze", "noise")), model=SMOKE_MODEL
                         ).replace(**{"optim.stage_lr_decay": 0.5})
    assert [config.peak_lr(stage) for stage in range(3)] == pytest.approx([2e-3, 1e-3, 5e-4])
    assert config.replace(**{"review.schedule": "joint"}).peak_lr(2) == config.optim.lr  # joint: one peak


def test_a_run_folder_with_a_checkpoint_needs_resume_or_overwrite(tmp_path):
    check_run_dir(tmp_path / "new", resume=False, overwrite=False)
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"")
    with pytest.raises(OutputError, match="--resume") as caught:
        check_run_dir(tmp_path, resume=False, overwrite=False)
    assert caught.value.exit_code == 6
    check_run_dir(tmp_path, resume=True, overwrite=False)
    check_run_dir(tmp_path, resume=False, overwrite=True)


def test_the_command_line_is_quoted_to_be_typed_again():
    assert command_line(["train", "--clean", "my photos"]) == "uhdrestore train --clean 'my photos'"
