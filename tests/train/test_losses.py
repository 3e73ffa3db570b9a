"""Reconstruction losses: what each one rewards, per sample."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from uhdrestore.metrics import psnr
from uhdrestore.train.config import LOSS_KINDS, LossConfig
from uhdrestore.train.losses import LOSSES, log_mse, reconstruction_loss
from uhdrestore.train.objectives import Objectives, left_clean


def test_log_mse_is_minus_a_tenth_of_the_psnr():
    torch.manual_seed(0)
    target = torch.rand(3, 3, 16, 16)
    output = (target + 0.2 * torch.randn_like(target)).clamp(0, 1)
    expected = -psnr(output, target).float() / 10
    assert torch.allclose(log_mse(output, target), expected, atol=3e-3)  # the 38 dB floor shifts it a little


def test_psnr_loss_pulls_hardest_on_the_nearly_clean_sample():
    """Charbonnier pulls every pixel alike, however small its error; log MSE pulls in proportion to
    1 / error (down to its floor), so a clean photo nudged by 1% is not left there for the sake of a
    dark one 30% off."""
    target = torch.full((2, 3, 8, 8), 0.5)
    output = target.clone()
    output[0] += 0.01  # a clean photo nudged by 1%
    output[1] += 0.30  # a dark photo still 30% off
    for kind, ratio_range in (("charbonnier", (0.9, 1.1)), ("psnr", (1 / 15, 1 / 10))):
        leaf = output.clone().requires_grad_(True)
        reconstruction_loss(leaf, target, fft_weight=0, kind=kind).sum().backward()
        pull = leaf.grad.flatten(1).norm(dim=1)
        low, high = ratio_range
        assert low <= float(pull[1] / pull[0]) <= high, kind


def test_psnr_loss_stops_rewarding_beyond_38_db():
    """Past the clean-photo target a perfect copy gains little, so clean samples cannot swamp the rest."""
    target = torch.full((1, 3, 8, 8), 0.5)
    assert float(log_mse(target, target)) == pytest.approx(-3.8, abs=0.01)
    assert float(log_mse(target + 0.001, target)) == pytest.approx(-3.8, abs=0.01)


def test_an_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="loss must be"):
        LossConfig(kind="l2")
    assert set(LOSSES) == set(LOSS_KINDS)  # the config's names are the losses' own


def _ambiguous_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """One input, two targets: a pale photo that is clean (its own target), and the same pixels as a
    mildly hazed photo whose target is 0.2 darker. The model cannot tell them apart."""
    patch = torch.full((2, 3, 8, 8), 0.6)
    target = patch.clone()
    target[1] -= 0.2
    return patch, target


def test_only_samples_whose_target_is_their_input_count_as_left_clean():
    patch, target = _ambiguous_pair()
    assert left_clean(patch, target).tolist() == [True, False]


@pytest.mark.parametrize(("clean_weight", "settles_near"), [(1.0, None), (4.0, 0.0)])
def test_a_clean_weight_above_one_makes_the_ambiguous_photo_come_back_unchanged(clean_weight, settles_near):
    """Where clean and mildly degraded look alike, the plain mean leaves the correction anywhere
    between (L1 is flat there); weighting the clean sample 4x makes leaving it alone the optimum."""
    patch, target = _ambiguous_pair()
    objectives = Objectives(SimpleNamespace(losses=LossConfig(fft_weight=0, clean_weight=clean_weight)))
    shift = torch.tensor(-0.1, requires_grad=True)  # the model's global correction, halfway
    optimizer = torch.optim.SGD([shift], lr=0.01)
    for _ in range(200):
        loss, _ = objectives.loss(patch + shift, target, patch, None)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if settles_near is None:
        assert -0.19 < shift.item() < -0.01  # nothing pulls it either way
    else:
        assert abs(shift.item() - settles_near) < 0.01


def test_a_clean_weight_must_be_positive():
    with pytest.raises(ValueError, match="clean weight must be > 0"):
        LossConfig(clean_weight=0)
