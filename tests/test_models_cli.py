"""`uhdrestore models` lists only our models; `models pull` makes one usable offline (stand-in Hub)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import save
from typer.testing import CliRunner

from tests.conftest import perturbed_model, synthetic_photo
from tests.hub_server import FakeHub
from uhdrestore.cli import app
from uhdrestore.hub import MODEL_CONFIG, MODEL_WEIGHTS, save_model
from uhdrestore.io import Image, ImageMetadata, from_float, write_image

REPO = "acme/tiny-restore"
BERT = "google/bert-tiny"


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in (MODEL_CONFIG, MODEL_WEIGHTS)}


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """Ours in two revisions and a BERT, each with config.json + model.safetensors; an empty cache."""
    import torch
    from huggingface_hub import constants

    ours = save_model(perturbed_model(), perturbed_model().config, tmp_path / "ours")
    other = save_model(perturbed_model(seed=1), perturbed_model().config, tmp_path / "other")
    bert = {MODEL_CONFIG: json.dumps({"model_type": "bert", "hidden_size": 128}).encode(),
            MODEL_WEIGHTS: save({"embeddings.weight": torch.zeros(4, 4)})}
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("uhdrestore.hub.bundled_weights_dir", lambda: tmp_path / "no-bundled-model")
    with FakeHub({REPO: {"main": _files(ours), "v2": _files(other)}, BERT: {"main": bert}}) as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)  # as HF_ENDPOINT, read at import
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            server.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        yield server


def invoke(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def listed() -> list[tuple[str, str | None]]:
    result = invoke("models", "--json")
    assert result.exit_code == 0, result.output
    return [(m["name"], m["revision"]) for m in json.loads(result.stdout)["models"]]


def test_models_lists_only_uhdrestore_models_from_the_cache(hub, tmp_path):
    from huggingface_hub import hf_hub_download

    for name in (MODEL_CONFIG, MODEL_WEIGHTS):  # a BERT in the cache, as any other library leaves one
        hf_hub_download(BERT, name)
    assert invoke("models", "pull", REPO).exit_code == 0
    assert listed() == [(REPO, hub.commit(REPO))]
    empty = invoke("models")
    assert empty.exit_code == 0 and REPO in empty.stdout and BERT not in empty.stdout


def test_pull_prefetches_a_revision_for_offline_use(hub, tmp_path, monkeypatch):
    result = invoke("models", "pull", REPO, "--revision", "v2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["revision"] == hub.commit(REPO, "v2") and Path(report["location"], MODEL_WEIGHTS).is_file()
    assert listed() == [(REPO, hub.commit(REPO, "v2"))]

    hub.stop()  # no Hub at all from here on
    photo = tmp_path / "photo.png"
    write_image(photo, Image(rgb=from_float(synthetic_photo(48, 64), np.uint8), alpha=None, metadata=ImageMetadata()))
    fixed = invoke("fix", photo, "--model", REPO, "--revision", report["revision"], "--offline", "--json")
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout)["model"]["revision"] == report["revision"]


def test_pull_of_a_missing_model_is_one_line_and_exit_4(hub):
    result = invoke("models", "pull", "acme/missing")
    assert result.exit_code == 4
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "no such model" in result.stderr


def test_pull_of_something_that_is_not_a_hub_id_is_a_usage_error(hub):
    result = invoke("models", "pull", "./weights")
    assert result.exit_code == 2 and "expected a Hub id org/name" in result.stderr
    assert hub.requests == []
