"""Checkpoints written before the settings had sections (flat TrainConfig, commit 184e45a) resume
exactly: same data, same batch plans, same learning rates, bit-identical weights.

tests/data/old_checkpoint/*.json hold what that code wrote when a run was stopped mid-way
(the checkpoint's JSON state, its tensor names, shapes and dtypes) and a fingerprint of the
model its uninterrupted run exported (make.py there made them). The tensors are rebuilt here
by the current code, checked against the recorded names and state, and saved under the old
JSON state: that is the old checkpoint, byte for byte in its metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from tests.train.test_data import write_photos
from tests.train.test_loop import run
from uhdrestore.cli import app
from uhdrestore.train.checkpoint import load_checkpoint, save_checkpoint
from uhdrestore.train.config import TrainConfig
from uhdrestore.train.loop import _Stopped
from uhdrestore.train.shared import CHECKPOINT_NAME

OLD = Path(__file__).resolve().parents[1] / "data" / "old_checkpoint"
STOP_AFTER = 13  # as make.py: the last checkpoint is at step 12, mid-stage 2


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return write_photos(tmp_path_factory.mktemp("data") / "clean", count=4, size=(96, 128))


def old_checkpoint(name: str, clean: Path, run_dir: Path) -> tuple[TrainConfig, dict]:
    """Write the old-layout checkpoint of fixture `name` into run_dir; returns its config and record."""
    record = json.loads((OLD / f"{name}.json").read_text())
    old_state = record["state"]
    config = TrainConfig.from_dict(old_state["config"])
    with pytest.raises(_Stopped):
        run(config, clean, run_dir, stop_after=STOP_AFTER)
    tensors, state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    assert {key: [list(value.shape), str(value.dtype)] for key, value in tensors.items()} == record["tensors"]
    assert state["stage_step"] == old_state["iteration"]
    for key in ("stage", "step", "tasks", "param_groups"):
        assert state[key] == old_state[key], key
    for key in ("memory", "rows"):  # scores and PSNRs: the last bits differ between CPUs
        assert state[key] == approx_floats(old_state[key]), key
    save_checkpoint(run_dir, tensors, old_state)  # the old JSON: flat config, "iteration"
    assert "iterations" in load_checkpoint(run_dir / CHECKPOINT_NAME)[1]["config"]
    return config, record


def approx_floats(value):
    """`value` with every float wrapped in pytest.approx, so == compares within float rounding."""
    if isinstance(value, dict):
        return {key: approx_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approx_floats(item) for item in value]
    return pytest.approx(value, rel=1e-5) if isinstance(value, float) else value


def fingerprint_matches(model: dict[str, torch.Tensor], recorded: dict[str, list[float]]) -> bool:
    """Within float rounding of the old code's model (thread counts change the last bits, not more)."""
    return set(model) == set(recorded) and all(
        float(model[name].double().sum()) == pytest.approx(total, rel=1e-4, abs=1e-6)
        and float(model[name].double().pow(2).sum()) == pytest.approx(squares, rel=1e-4, abs=1e-8)
        for name, (total, squares) in recorded.items())


def test_an_old_review_checkpoint_resumes_bit_identically(tmp_path, clean):
    config, record = old_checkpoint("review", clean, tmp_path / "old")
    resumed = run(config, clean, tmp_path / "old", resume=True)
    straight = run(config, clean, tmp_path / "straight")
    a, b = (load_file(result.output_dir / "model.safetensors") for result in (resumed, straight))
    assert all(torch.equal(a[key], b[key]) for key in b)
    # Rows before the stop come from the fixture.
    assert resumed.matrix["rows"] == approx_floats(straight.matrix["rows"])
    assert fingerprint_matches(b, record["final_model"])  # and the same model the old code made
    assert [row["after_stage"] for row in straight.matrix["rows"]] == [r["after_stage"] for r in record["final_rows"]]


def test_an_old_joint_checkpoint_resumes_from_the_command_line_with_nothing_but_the_run_folder(tmp_path, clean):
    config, record = old_checkpoint("joint", clean, tmp_path / "old")
    result = CliRunner().invoke(app, ["train", "--resume", "--run-dir", str(tmp_path / "old"), "--clean", str(clean),
                                      "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    straight = run(config, clean, tmp_path / "straight")
    a = load_file(tmp_path / "old" / "model" / "model.safetensors")
    b = load_file(straight.output_dir / "model.safetensors")
    assert all(torch.equal(a[key], b[key]) for key in b)
    assert fingerprint_matches(b, record["final_model"])
    saved = load_checkpoint(tmp_path / "old" / CHECKPOINT_NAME)[1]
    assert TrainConfig.from_dict(saved["config"]) == config and "optim" in saved["config"]  # now written nested
