"""The SPN loss: feature spaces, lagged models and the bounded push away from history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from tests.conftest import synthetic_photo
from tests.hub_server import FakeHub
from uhdrestore.errors import WeightsError
from uhdrestore.models import ModelConfig, build_model
from uhdrestore.train.spn import (
    FeatureSpace,
    LaggedModels,
    SPNLoss,
    fixed_features,
    load_feature_space,
    vgg16_features,
)

SMALL = ModelConfig(detail_width=8, body_width=16, body_blocks=1, body_iterations=1, context_width=8)
VGG_CONVS = {0: (3, 64), 2: (64, 64), 5: (64, 128), 7: (128, 128), 10: (128, 256), 12: (256, 256),
             14: (256, 256), 17: (256, 512)}  # 17 is past relu3_3: present in real files, unused


def _photo(height: int = 64, width: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(synthetic_photo(height, width, seed)).permute(2, 0, 1).unsqueeze(0)


def _distance(space: FeatureSpace, a: torch.Tensor, b: torch.Tensor) -> float:
    """The unclamped SPN distance d(a, b), read back through the loss itself."""
    return -float(SPNLoss(space, weight=1.0, bound=1e9)(a, [b]))


def _vgg_state(prefix: str = "features.", seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for index, (cin, cout) in VGG_CONVS.items():
        state[f"{prefix}{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=generator) * (2 / (9 * cin)) ** 0.5
        state[f"{prefix}{index}.bias"] = torch.zeros(cout)
    state["classifier.0.weight"] = torch.zeros(4, 8)  # ignored, as in torchvision's file
    return state


def _model(seed: int = 0) -> torch.nn.Module:
    """A small SimpleIR whose every weight is random (a fresh one has zero residual weights)."""
    torch.manual_seed(seed)
    model = build_model(SMALL)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.1)
    return model


def _nudge(model: torch.nn.Module, seed: int) -> None:
    """One fake optimiser step: move every weight."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)


# --- the fixed feature space ------------------------------------------------------------------


def test_fixed_features_are_deterministic_and_frozen() -> None:
    first, second = fixed_features(), fixed_features()
    image = _photo()
    for a, b in zip(first(image), second(image), strict=True):
        assert torch.equal(a, b)
    assert list(first.parameters()) == []
    assert first.weights == (0.2, 0.3, 0.5)
    assert "fixed" in first.name


@pytest.mark.parametrize(("height", "width"), [(64, 48), (33, 47)])
def test_fixed_features_give_three_scales(height: int, width: int) -> None:
    levels = fixed_features()(torch.rand(2, 3, height, width))
    assert [tuple(level.shape) for level in levels] == [
        (2, 18, height, width), (2, 18, height // 2, width // 2), (2, 18, height // 4, width // 4)]


def test_fixed_distance_is_zero_to_itself_and_grows_with_damage() -> None:
    space, image = fixed_features(), _photo()
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(image.shape, generator=generator)
    assert _distance(space, image, image) == 0.0
    light, heavy = _distance(space, image, image + 0.02 * noise), _distance(space, image, image + 0.1 * noise)
    assert 0 < light < heavy
    blur = [F.avg_pool2d(F.pad(image, (r, r, r, r), mode="replicate"), 2 * r + 1, stride=1) for r in (1, 3)]
    assert 0 < _distance(space, image, blur[0]) < _distance(space, image, blur[1])


def test_fixed_distance_sees_a_colour_shift() -> None:
    image = _photo()
    shifted = image.clone()
    shifted[:, 0] += 0.05  # redder, no new edges: only the 3 signed low-pass channels of 18 see it
    assert _distance(fixed_features(), image, shifted) > 0.003


# --- VGG16 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["features.", ""])
def test_vgg16_loads_with_or_without_prefix(prefix: str) -> None:
    space = vgg16_features(_vgg_state(prefix))
    levels = space(torch.rand(1, 3, 32, 40))
    assert [tuple(level.shape) for level in levels] == [(1, 64, 32, 40), (1, 128, 16, 20), (1, 256, 8, 10)]
    assert all(not parameter.requires_grad for parameter in space.parameters())
    assert space.weights == (0.2, 0.3, 0.5)
    assert torch.equal(space.features[7].weight, _vgg_state()["features.7.weight"])


def test_vgg16_rejects_missing_misshapen_and_nan_tensors() -> None:
    state = _vgg_state()
    del state["features.12.bias"]
    with pytest.raises(WeightsError, match=r"missing 12\.bias"):
        vgg16_features(state)
    state = _vgg_state()
    state["features.5.weight"] = torch.zeros(128, 32, 3, 3)
    with pytest.raises(WeightsError, match=r"shape mismatch: 5\.weight \(128, 32, 3, 3\)"):
        vgg16_features(state)
    state = _vgg_state()
    state["features.0.bias"][0] = float("nan")
    with pytest.raises(WeightsError, match=r"NaN or infinite values in 0\.bias"):
        vgg16_features(state)


def test_load_feature_space_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "vgg16.safetensors"
    save_file(_vgg_state(), str(path))
    space = load_feature_space(str(path))
    image = torch.rand(1, 3, 16, 16)
    expected = vgg16_features(_vgg_state())(image)
    assert all(torch.equal(a, b) for a, b in zip(space(image), expected, strict=True))
    assert str(path) in space.name and "vgg16" in space.name


def test_load_feature_space_errors_are_weights_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no VGG16 weights file"):
        load_feature_space(str(tmp_path / "absent.safetensors"))
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="corrupt"):
        load_feature_space(str(corrupt))
    with pytest.raises(WeightsError, match="no such feature space"):
        load_feature_space("vgg 16 please")
    with pytest.raises(WeightsError, match="revision"):
        load_feature_space(str(corrupt), revision="main")


@pytest.mark.parametrize("spec", [None, "fixed"])
def test_load_feature_space_fixed(spec: str | None) -> None:
    assert load_feature_space(spec).name == fixed_features().name


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    from huggingface_hub import constants
    from safetensors.torch import save

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with FakeHub({"acme/vgg": {"main": {"vgg16.safetensors": save(_vgg_state())}}}) as server:
        yield server


def test_load_feature_space_from_the_hub(fake_hub: FakeHub, tmp_path: Path) -> None:
    options = {"endpoint": fake_hub.endpoint, "cache_dir": tmp_path / "cache"}
    space = load_feature_space("acme/vgg:vgg16.safetensors", **options)
    assert [level.shape[1] for level in space(torch.rand(1, 3, 8, 8))] == [64, 128, 256]
    with pytest.raises(WeightsError, match="has no model.safetensors"):
        load_feature_space("acme/vgg", **options)
    with pytest.raises(WeightsError, match="offline"):
        load_feature_space("acme/other:vgg16.safetensors", local_files_only=True, **options)


# --- lagged models ----------------------------------------------------------------------------


def test_lagged_copies_start_as_the_model_and_refresh_on_their_period() -> None:
    model = _model()
    lagged = LaggedModels(model, periods=(4, 2), decay=0.1)
    image = _photo(32, 32)
    with torch.no_grad():
        assert all(torch.equal(output, model(image)) for output in lagged.outputs(image))
    before = lagged.state_dict()
    _nudge(model, seed=1)
    lagged.update(model, step=1)
    assert all(torch.equal(tensor, before[name]) for name, tensor in lagged.state_dict().items())

    lagged.update(model, step=2)  # copy 1 (period 2) is due, copy 0 (period 4) is not
    after, current = lagged.state_dict(), model.state_dict()
    for name, tensor in current.items():
        assert torch.equal(after[f"lagged.0.{name}"], before[f"lagged.0.{name}"])
        blend = 0.1 * before[f"lagged.1.{name}"] + 0.9 * tensor
        torch.testing.assert_close(after[f"lagged.1.{name}"], blend, rtol=0, atol=1e-6)
    _nudge(model, seed=2)
    lagged.update(model, step=4)  # both due
    for index in (0, 1):
        name = "entry.weight"
        blend = 0.1 * after[f"lagged.{index}.{name}"] + 0.9 * model.state_dict()[name]
        torch.testing.assert_close(lagged.state_dict()[f"lagged.{index}.{name}"], blend, rtol=0, atol=1e-6)


def test_lagged_copies_take_no_gradient() -> None:
    model = _model()
    lagged = LaggedModels(model, periods=(2,))
    assert all(not parameter.requires_grad for copy in lagged.copies for parameter in copy.parameters())
    image = _photo(32, 32)
    negatives = lagged.outputs(image)
    assert not negatives[0].requires_grad
    loss = (model(image) - image).abs().mean() + SPNLoss(fixed_features(), weight=0.1)(model(image), negatives)
    loss.backward()
    assert all(parameter.grad is None for copy in lagged.copies for parameter in copy.parameters())
    assert all(parameter.grad is not None for parameter in model.parameters())
    lagged.update(model, step=2)
    assert all(not parameter.requires_grad for copy in lagged.copies for parameter in copy.parameters())


def test_lagged_state_dict_round_trips_through_safetensors(tmp_path: Path) -> None:
    model = _model()
    lagged = LaggedModels(model, periods=(3, 1))
    _nudge(model, seed=1)
    lagged.update(model, step=1)
    path = tmp_path / "lagged.safetensors"
    save_file(lagged.state_dict(), str(path))
    restored = LaggedModels(_model(seed=5), periods=(3, 1))
    restored.load_state_dict(load_file(str(path)))
    assert restored.state_dict().keys() == lagged.state_dict().keys()
    assert all(torch.equal(tensor, lagged.state_dict()[name]) for name, tensor in restored.state_dict().items())
    image = _photo(32, 32)
    assert all(torch.equal(a, b) for a, b in zip(restored.outputs(image), lagged.outputs(image), strict=True))


def test_lagged_state_dict_mismatch_is_a_weights_error() -> None:
    lagged = LaggedModels(_model(), periods=(3, 1))
    state = lagged.state_dict()
    del state["lagged.1.entry.bias"]
    with pytest.raises(WeightsError, match=r"missing lagged\.1\.entry\.bias"):
        lagged.load_state_dict(state)
    with pytest.raises(WeightsError, match="unexpected"):
        LaggedModels(_model(), periods=(3,)).load_state_dict(lagged.state_dict())


def test_lagged_arguments_are_checked() -> None:
    model = _model()
    for periods, decay in [((), 0.1), ((0, 2), 0.1), ((2,), 1.0), ((2,), -0.1)]:
        with pytest.raises(ValueError):
            LaggedModels(model, periods=periods, decay=decay)
    with pytest.raises(ValueError, match="step"):
        LaggedModels(model, periods=(2,)).update(model, step=0)


# --- the SPN term -----------------------------------------------------------------------------


class _Refuses(FeatureSpace):
    def __init__(self) -> None:
        super().__init__("refuses", (1.0,))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise AssertionError("features computed for weight 0")


def test_spn_is_non_positive_and_exactly_zero_at_weight_zero() -> None:
    image = _photo(32, 32)
    negative = (image + 0.05 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0)))
    term = SPNLoss(fixed_features(), weight=0.01)(image, [negative, image])
    assert float(term) < 0
    zero = SPNLoss(_Refuses(), weight=0.0)(image, [negative])
    assert zero.shape == () and float(zero) == 0.0


def test_spn_is_clamped_at_minus_weight_times_bound() -> None:
    output, negative = torch.zeros(1, 3, 16, 16), torch.ones(1, 3, 16, 16)
    term = SPNLoss(fixed_features(), weight=0.5, bound=0.01)(output, [negative, negative])
    assert float(term) == pytest.approx(-0.5 * 0.01, rel=1e-6)


def test_spn_gradient_reaches_the_output_only() -> None:
    image = _photo(32, 32)
    output = image.clone().requires_grad_(True)
    negative = (image * 0.9).requires_grad_(True)
    SPNLoss(fixed_features(), weight=1.0)(output, [negative]).backward()
    assert output.grad is not None and float(output.grad.abs().sum()) > 0
    assert negative.grad is None


def test_spn_pushes_the_output_away_but_stays_bounded() -> None:
    image = _photo(32, 32)
    negative = image.clone()
    output = (image + 0.01 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0)))
    output.requires_grad_(True)
    spn = SPNLoss(fixed_features(), weight=1.0, bound=0.005)
    optimiser = torch.optim.Adam([output], lr=1e-3)
    start = _distance(spn.features, output.detach(), negative)
    terms = []
    for _ in range(40):
        optimiser.zero_grad()
        term = spn(output, [negative])
        terms.append(float(term.detach()))
        term.backward()
        optimiser.step()
    assert _distance(spn.features, output.detach(), negative) > max(start, spn.bound)
    assert min(terms) == pytest.approx(-spn.weight * spn.bound, rel=1e-6)  # reached the bound, no further
    assert terms[-1] == pytest.approx(-spn.weight * spn.bound, rel=1e-6)


def test_spn_arguments_are_checked() -> None:
    space, image = fixed_features(), torch.rand(1, 3, 8, 8)
    for weight, bound in [(-1.0, 1.0), (float("nan"), 1.0), (1.0, 0.0), (1.0, float("inf"))]:
        with pytest.raises(ValueError):
            SPNLoss(space, weight=weight, bound=bound)
    with pytest.raises(ValueError, match="at least one"):
        SPNLoss(space, weight=1.0)(image, [])
    with pytest.raises(ValueError, match="shape"):
        SPNLoss(space, weight=1.0)(image, [torch.rand(1, 3, 8, 9)])
