"""The registry (`parse_kind`, `degrade`, ...) and the contract every kind keeps."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tests.conftest import psnr, synthetic_photo
from uhdrestore import degrade as registry
from uhdrestore.degrade import KINDS, apply_params, degrade, params_to_dict, parse_kind, sample_chain, sample_params


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return synthetic_photo(96, 128, seed=3)


def test_parse_kind_splits_chains_in_order():
    assert parse_kind("rain") == ("rain",)
    assert parse_kind("rain+haze") == ("rain", "haze")
    assert parse_kind(" Haze + rain ") == ("haze", "rain")
    assert set(KINDS) == {"rain", "haze", "noise", "blur", "snow", "lowlight", "jpeg"}


@pytest.mark.parametrize("spec", ["fog", "rain+fog", "rain+", "", "+"])
def test_parse_kind_rejects_unknown_or_empty_parts(spec):
    with pytest.raises(ValueError, match="known kinds: rain, haze, noise, blur, snow, lowlight, jpeg") as caught:
        parse_kind(spec)
    if "fog" in spec:
        assert "'fog'" in str(caught.value)


def test_a_part_can_name_one_look_of_its_kind(photo):
    assert parse_kind("Snow : Crisp+haze") == ("snow:crisp", "haze")
    (kind, params), = sample_chain("snow:crisp", np.random.default_rng(0), 0.5)
    assert kind == "snow"
    assert params == registry.snow.sample(np.random.default_rng(0), 0.5, style="crisp")
    crisp = degrade(photo, "snow:crisp", np.random.default_rng(1), 0.5)
    assert np.array_equal(crisp, apply_params("snow", photo, registry.snow.sample(np.random.default_rng(1), 0.5,
                                                                                   style="crisp")))


@pytest.mark.parametrize(("spec", "shown"), [("snow:fog", "its looks are flakes, sparkle, crisp"),
                                             ("haze:dense", "it has one look"), ("rain:", "unknown look ''")])
def test_unknown_looks_are_rejected_naming_the_known_ones(spec, shown):
    with pytest.raises(ValueError, match=shown):
        parse_kind(spec)


def test_degrade_chain_equals_each_part_in_order(photo):
    chained = degrade(photo, "rain+haze", np.random.default_rng(5), severity=0.6)
    rng = np.random.default_rng(5)
    rain_params = sample_params("rain", rng, 0.6)
    haze_params = sample_params("haze", rng, 0.6)
    by_hand = apply_params("haze", apply_params("rain", photo, rain_params), haze_params)
    assert np.array_equal(chained, by_hand)
    assert not np.array_equal(chained, apply_params("rain", apply_params("haze", photo, haze_params), rain_params))


def test_sample_chain_matches_degrade(photo):
    parts = sample_chain("noise+jpeg", np.random.default_rng(2))
    assert [kind for kind, _ in parts] == ["noise", "jpeg"]
    by_hand = apply_params("jpeg", apply_params("noise", photo, parts[0][1]), parts[1][1])
    assert np.array_equal(degrade(photo, "noise+jpeg", np.random.default_rng(2)), by_hand)


def test_missing_severity_is_drawn_from_the_generator():
    rng = np.random.default_rng(9)
    drawn = sample_params("haze", rng)
    replay = np.random.default_rng(9)
    assert drawn == registry.haze.sample(replay, float(replay.uniform(0.0, 1.0)))


@pytest.mark.parametrize("severity", [-0.1, 1.5, float("nan"), "0.5"])
def test_bad_severity_is_rejected_with_its_value(photo, severity):
    with pytest.raises(ValueError, match="severity") as caught:
        degrade(photo, "noise", np.random.default_rng(0), severity=severity)  # type: ignore[arg-type]
    assert repr(severity) in str(caught.value)
    with pytest.raises(ValueError, match="severity"):
        registry.blur.sample(np.random.default_rng(0), severity)  # type: ignore[arg-type]


@pytest.mark.parametrize("image, shown", [
    (np.zeros((8, 8), np.float32), "(8, 8)"),
    (np.zeros((8, 8, 4), np.float32), "(8, 8, 4)"),
    (np.zeros((8, 8, 3), np.uint8), "uint8"),
    (np.zeros((8, 8, 3), np.float64), "float64"),
])  # fmt: skip
def test_bad_images_are_rejected_with_their_shape_or_dtype(image, shown):
    with pytest.raises(ValueError) as caught:
        degrade(image, "blur", np.random.default_rng(0))
    assert shown in str(caught.value)


def test_apply_params_checks_the_params_type(photo):
    with pytest.raises(ValueError, match="RainParams"):
        apply_params("rain", photo, sample_params("haze", np.random.default_rng(0), 0.5))
    with pytest.raises(ValueError, match="known kinds"):
        apply_params("smog", photo, object())


@pytest.mark.parametrize("kind", KINDS)
def test_params_to_dict_is_json_ready(kind):
    params = sample_params(kind, np.random.default_rng(0), 0.5)
    report = params_to_dict(params)
    assert report["kind"] == kind
    assert json.loads(json.dumps(report))["kind"] == kind
    assert set(report) == {"kind"} | {field.name for field in dataclasses.fields(params)}
    with pytest.raises(ValueError):
        params_to_dict({"kind": kind})


# The contract every kind keeps.

@pytest.mark.parametrize("kind", KINDS)
def test_apply_is_pure_and_deterministic(kind, photo):
    params = sample_params(kind, np.random.default_rng(1), 0.5)
    before = photo.copy()
    first = apply_params(kind, photo, params)
    assert np.array_equal(photo, before)  # the input is never modified
    assert np.array_equal(first, apply_params(kind, photo, params))
    assert first.shape == photo.shape and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0
    assert not np.array_equal(first, photo)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_repeats_with_a_seed_and_varies_across_seeds(kind):
    module = getattr(registry, kind)
    assert module.sample(np.random.default_rng(4), 0.5) == module.sample(np.random.default_rng(4), 0.5)
    drawn = {module.sample(np.random.default_rng(seed), 0.5) for seed in range(10)}
    assert len(drawn) >= 5


@pytest.mark.parametrize("kind", KINDS)
def test_params_are_frozen(kind):
    params = sample_params(kind, np.random.default_rng(0), 0.5)
    field = dataclasses.fields(params)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, field, getattr(params, field))


@pytest.mark.parametrize("kind", KINDS)
def test_severity_zero_changes_less_than_severity_one(kind, photo):
    for seed in range(4):
        light = apply_params(kind, photo, sample_params(kind, np.random.default_rng(seed), 0.0))
        heavy = apply_params(kind, photo, sample_params(kind, np.random.default_rng(seed), 1.0))
        assert psnr(light, photo) > psnr(heavy, photo) + 1.0, (kind, seed)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 7, 3), (40, 9, 3)])
def test_tiny_and_thin_images_work(kind, shape):
    image = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    for severity in (0.0, 1.0):
        out = degrade(image, kind, np.random.default_rng(2), severity)
        assert out.shape == shape and out.dtype == np.float32
        assert np.isfinite(out).all() and 0.0 <= out.min() and out.max() <= 1.0
