"""The sample cache: results never depend on it, and revisits cost no synthesis."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.train.test_data import write_photos
from tests.train.test_loop import run, small_config
from uhdrestore.train.data import CleanPhotos, make_stage
from uhdrestore.train.samples import Samples


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return write_photos(tmp_path_factory.mktemp("data") / "clean", count=4, size=(96, 128))


def test_the_sample_cache_changes_speed_only_not_results(tmp_path, clean):
    config = small_config(**{"optim.steps_per_stage": 6, "data.view_size": 48, "data.view_max": 64,
                             "data.pool_size": 4})
    cached = run(config, clean, tmp_path / "cached", cache_bytes=1 << 30)
    uncached = run(config, clean, tmp_path / "uncached", cache_bytes=0)
    a, b = (load_file(result.output_dir / "model.safetensors") for result in (cached, uncached))
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_the_sample_cache_serves_revisits_without_synthesis(clean):
    config = small_config(**{"data.view_size": 48, "data.view_max": 64})
    photos = CleanPhotos(clean, holdout=(), seed=0)
    source = make_stage(config.stages[0], config.data, config.seed, photos)
    calls = []
    original = source.sample
    source.sample = lambda *args: calls.append(args) or original(*args)
    samples = Samples(config.data, config.model, [source], torch.device("cpu"), cache_bytes=1 << 30)
    first = samples.tensors([(0, 1), (0, 2)])
    again = samples.tensors([(0, 2), (0, 1)])
    assert len(calls) == 2
    assert torch.equal(first[0][0], again[0][1]) and torch.equal(first[2][1], again[2][0])
    samples.forget(keep={(0, 2)})
    samples.tensors([(0, 1), (0, 2)])
    assert len(calls) == 3  # only the forgotten one is made again
