"""Quality-aware training: the perceiver's verdict plus the contrastive ratio, end to end from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.train.test_data import write_photos
from uhdrestore.cli import app
from uhdrestore.hub import save_model
from uhdrestore.perceive import Perceiver, PerceiverConfig
from uhdrestore.train.quality import QualityLoss
from uhdrestore.train.spn import fixed_features


@pytest.fixture(scope="module")
def perceiver_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = PerceiverConfig()
    return save_model(Perceiver(config), config, tmp_path_factory.mktemp("perceiver") / "model")


def loss(weight: float) -> QualityLoss:
    torch.manual_seed(0)
    return QualityLoss(Perceiver(PerceiverConfig()), fixed_features(), weight)


def test_the_quality_term_is_zero_when_off_and_positive_when_on():
    clean = torch.rand(2, 3, 32, 32)
    degraded = (clean + 0.3 * torch.rand_like(clean)).clamp(0, 1)
    assert loss(0.0)(clean, clean, degraded, degraded).item() == 0.0
    assert loss(0.1)(degraded, clean, degraded * 0.9, degraded).item() > 0


def test_the_ratio_prefers_outputs_near_the_clean_patch():
    term = loss(1.0)
    clean = torch.rand(2, 3, 32, 32)
    degraded = (clean + 0.4 * torch.randn_like(clean)).clamp(0, 1)
    weaker = (0.5 * clean + 0.5 * degraded)
    near = (0.9 * clean + 0.1 * degraded)
    far = (0.2 * clean + 0.8 * degraded)
    assert term(near, clean, degraded, weaker) < term(far, clean, degraded, weaker)


def test_gradients_reach_the_output_but_not_the_frozen_perceiver():
    term = loss(1.0)
    output = torch.rand(2, 3, 32, 32, requires_grad=True)
    clean = torch.rand(2, 3, 32, 32)
    term(output, clean, torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0
    assert all(parameter.grad is None for parameter in term.perceiver.parameters())


def test_train_with_quality_loss_runs_and_says_so_in_the_model_card(tmp_path, perceiver_dir):
    clean = write_photos(tmp_path / "clean", count=3, size=(96, 128))
    result = CliRunner().invoke(app, ["train", "--stages", "rain,noise", "--clean", str(clean), "--smoke",
                                      "--quality-loss", "0.1", "--perceiver", str(perceiver_dir),
                                      "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "quality-aware term (weight 0.1)" in (tmp_path / "run" / "model" / "README.md").read_text()


def test_a_missing_perceiver_is_a_one_line_model_error(tmp_path):
    clean = write_photos(tmp_path / "clean", count=3, size=(96, 128))
    result = CliRunner().invoke(app, ["train", "--stages", "rain", "--clean", str(clean), "--smoke",
                                      "--quality-loss", "0.1", "--perceiver", str(tmp_path / "nope"),
                                      "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 4 and "no such model" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
