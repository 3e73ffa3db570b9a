"""Training settings: sections that round-trip through JSON, the old flat layout, validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uhdrestore.train.config import FLAT_FIELDS, SMOKE_MODEL, StageConfig, TrainConfig

OLD = Path(__file__).resolve().parents[1] / "data" / "old_checkpoint"


def config() -> TrainConfig:
    return TrainConfig(stages=(StageConfig.parse("rain"), StageConfig.parse("haze=data/haze")), model=SMOKE_MODEL)


def test_a_config_round_trips_through_json():
    original = config().replace(**{"data.severity": (0.2, 0.9), "data.holdout": ("a.png",),
                                   "data.hard_clean": ("b.png",), "optim.lr": 1e-3,
                                   "losses.spn_weight": 0.1, "review.schedule": "joint"})
    assert TrainConfig.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_the_flat_layout_of_older_checkpoints_loads_into_the_sections():
    for name in ("review", "joint"):
        flat = json.loads((OLD / f"{name}.json").read_text())["state"]["config"]
        loaded = TrainConfig.from_dict(flat)
        assert loaded.optim.steps_per_stage == flat["iterations"] and loaded.losses.kind == flat["loss"]
        assert loaded.review.ratio == flat["review_ratio"] and loaded.data.holdout == tuple(flat["holdout"])
        for key, (section, field) in FLAT_FIELDS.items():
            value = getattr(getattr(loaded, section), field)
            assert (list(value) if isinstance(value, tuple) else value) == flat[key], key
    flat = json.loads((OLD / "review.json").read_text())["state"]["config"]
    del flat["keep_changes"], flat["jpeg_downscale"]  # settings newer than some checkpoints read as defaults
    assert TrainConfig.from_dict(flat).data.keep_changes == 0.0


def test_the_pool_defaults_to_four_visits_per_sample():
    settings = config().replace(**{"optim.steps_per_stage": 100, "optim.batch_size": 8, "data.pool_size": 0})
    assert settings.data.pool_size == 200


def test_differences_name_the_changed_settings():
    assert config().differences(config().replace(**{"optim.lr": 1.0, "seed": 3})) == ["optim.lr", "seed"]


@pytest.mark.parametrize("change,message", [({"data.patch_size": 20}, "multiples of 8"),
                                            ({"review.ratio": 1.0}, "review ratio"),
                                            ({"losses.kind": "l2"}, "loss must be"),
                                            ({"optim.stage_lr_decay": 2.0}, "stage lr decay")])
def test_bad_values_are_value_errors(change, message):
    with pytest.raises(ValueError, match=message):
        config().replace(**change)


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown optim settings: learning_rate"):
        TrainConfig.from_dict({**config().to_dict(), "optim": {"learning_rate": 1.0}})
