"""Model specs, strict loading and the Hub path, against a stand-in Hub on 127.0.0.1."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from tests.hub_server import FakeHub
from uhdrestore import __version__, hub
from uhdrestore.errors import OutputError, WeightsError
from uhdrestore.hub import (
    MODEL_CARD,
    MODEL_CONFIG,
    MODEL_WEIGHTS,
    list_models,
    load_model,
    load_model_files,
    resolve_model,
    save_model,
)
from uhdrestore.models import ModelConfig, build_model

TINY = ModelConfig(detail_width=8, body_width=16, body_blocks=1, body_iterations=1, context_width=8)
REPO = "acme/tiny-restore"


@pytest.fixture(autouse=True)
def _quiet_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """No telemetry, no user token, online: set on `constants`, read from the env at import."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")  # for a huggingface_hub not imported yet
    # With telemetry on, 2.4 fetches https://huggingface.co/api/agent-harnesses (the global
    # HF_ENDPOINT, not `endpoint=`) and caches the answer in HF_HOME.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def _trained(seed: int = 0, config: ModelConfig = TINY) -> torch.nn.Module:
    """A network whose output differs from its input (a fresh one is the identity)."""
    torch.manual_seed(seed)
    module = build_model(config)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0.0, 0.1)
    return module.eval()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return save_model(_trained(), TINY, tmp_path / "m")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "hf-cache"


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in (MODEL_CONFIG, MODEL_WEIGHTS)}


@pytest.fixture
def fake_hub(model_dir: Path) -> Iterator[FakeHub]:
    other = save_model(_trained(seed=1), TINY, model_dir.parent / "v2")
    repos = {
        REPO: {"main": _files(model_dir), "v2": _files(other)},
        "acme/no-weights": {"main": {MODEL_CONFIG: (model_dir / MODEL_CONFIG).read_bytes()}},
    }
    with FakeHub(repos) as server:
        yield server


def _hub_load(
    server: FakeHub, cache_dir: Path, *, revision: str | None = None, local_files_only: bool = False
) -> hub.LoadedModel:
    return load_model(REPO, endpoint=server.endpoint, cache_dir=cache_dir, revision=revision,
                      local_files_only=local_files_only)


# --- saving and strict loading ---------------------------------------------------------------


def test_save_load_round_trip_gives_identical_output(tmp_path: Path) -> None:
    module = _trained()
    folder = save_model(module, TINY, tmp_path / "new" / "model", model_card="# tiny\n")
    assert sorted(path.name for path in folder.iterdir()) == [MODEL_CARD, MODEL_CONFIG, MODEL_WEIGHTS]
    loaded = load_model(str(folder))
    image = torch.rand(1, 3, 24, 40, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected, actual = module(image), loaded.module(image)
    assert not torch.equal(expected, image)
    assert torch.equal(expected, actual)
    assert loaded.config == TINY
    assert not loaded.module.training
    parameters = list(loaded.module.parameters())
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in parameters)
    assert loaded.parameters == sum(p.numel() for p in module.parameters())
    assert len(loaded.sha256) == 64
    assert loaded.source.kind == "local" and loaded.source.revision is None


def test_save_model_into_a_file_path_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="blocker"):
        save_model(_trained(), TINY, blocker)


def test_resolve_folder_and_safetensors_file(model_dir: Path, tmp_path: Path) -> None:
    source = resolve_model(str(model_dir))
    assert (source.kind, source.config_path, source.weights_path) == (
        "local", model_dir / MODEL_CONFIG, model_dir / MODEL_WEIGHTS)
    renamed = model_dir / "step_100.safetensors"
    (model_dir / MODEL_WEIGHTS).rename(renamed)
    source = resolve_model(str(renamed))
    assert (source.kind, source.weights_path) == ("local", renamed)
    assert load_model_files(source).config == TINY


@pytest.mark.parametrize("missing", [MODEL_CONFIG, MODEL_WEIGHTS])
def test_folder_missing_a_file_names_it(model_dir: Path, missing: str) -> None:
    (model_dir / missing).unlink()
    with pytest.raises(WeightsError, match=missing.replace(".", r"\.")):
        resolve_model(str(model_dir))


def test_lone_safetensors_file_loads_from_its_metadata(model_dir: Path, tmp_path: Path) -> None:
    in_folder = load_model(str(model_dir))
    lone = tmp_path / "elsewhere" / "mine.safetensors"
    lone.parent.mkdir()
    (model_dir / MODEL_WEIGHTS).rename(lone)
    with safe_open(lone, framework="pt") as handle:
        assert handle.metadata()["uhdrestore.version"] == __version__
    loaded = load_model(str(lone))
    assert loaded.config == TINY and loaded.source.config_path is None
    assert loaded.sha256 == in_folder.sha256
    image = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(loaded.module(image), in_folder.module(image))


def test_file_metadata_wins_over_a_config_beside_it(model_dir: Path) -> None:
    (model_dir / MODEL_CONFIG).write_text('{"arch": "simpleir", "width": 999}')  # another model's config
    assert load_model(str(model_dir / MODEL_WEIGHTS)).config == TINY


def test_safetensors_file_without_metadata_or_config_beside_it(model_dir: Path) -> None:
    (model_dir / MODEL_CONFIG).unlink()
    bare = model_dir / "bare.safetensors"
    save_file(load_file(model_dir / MODEL_WEIGHTS), bare)  # written by another tool: no config inside
    with pytest.raises(WeightsError, match="no model config in its metadata and no config.json beside"):
        resolve_model(str(bare))


def test_bad_config_in_metadata_is_a_weights_error(model_dir: Path) -> None:
    bare = model_dir / "bad.safetensors"
    save_file(load_file(model_dir / MODEL_WEIGHTS), bare, metadata={"uhdrestore.config": "{not json"})
    with pytest.raises(WeightsError, match="bad model config in the metadata of .*bad.safetensors"):
        resolve_model(str(bare))


def test_unknown_spec_is_a_weights_error(model_dir: Path) -> None:
    with pytest.raises(WeightsError, match="no such model: not a model"):
        resolve_model("not a model")
    with pytest.raises(WeightsError, match="no such model: "):
        resolve_model("")
    with pytest.raises(WeightsError, match="Hub models only"):
        resolve_model(str(model_dir), revision="main")


@pytest.mark.parametrize("damage", ["random", "truncated", "empty"])
def test_corrupt_weights_file(model_dir: Path, damage: str) -> None:
    weights = model_dir / MODEL_WEIGHTS
    data = weights.read_bytes()
    damaged = {"random": os.urandom(len(data)), "truncated": data[: len(data) // 2], "empty": b""}
    weights.write_bytes(damaged[damage])
    with pytest.raises(WeightsError, match="corrupt weights file"):
        load_model(str(model_dir))


def test_config_for_another_width_reports_shape_mismatch(model_dir: Path) -> None:
    config = json.loads((model_dir / MODEL_CONFIG).read_text())
    config["detail_width"] = 12
    (model_dir / MODEL_CONFIG).write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="shape mismatch") as caught:
        load_model(str(model_dir))
    assert "and " in str(caught.value) and "more" in str(caught.value)  # capped at five names


def test_missing_and_unexpected_tensors(model_dir: Path) -> None:
    tensors = dict(build_model(TINY).state_dict())
    removed = sorted(tensors)[0]
    del tensors[removed]
    tensors["extra.weight"] = torch.zeros(2)
    save_file(tensors, model_dir / MODEL_WEIGHTS)
    with pytest.raises(WeightsError, match=f"missing {removed}; unexpected extra.weight"):
        load_model(str(model_dir))


def test_non_finite_weights_are_rejected(model_dir: Path) -> None:
    tensors = dict(build_model(TINY).state_dict())
    name = sorted(tensors)[0]
    tensors[name] = tensors[name].clone().fill_(float("nan"))
    save_file(tensors, model_dir / MODEL_WEIGHTS)
    with pytest.raises(WeightsError, match="NaN or infinite"):
        load_model(str(model_dir))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"detail_width": 8, "colour": "blue"}', "unknown config keys: colour"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"body_width": 0}', "body_width must be a positive integer"),
    ],
)
def test_bad_config(model_dir: Path, text: str, message: str) -> None:
    (model_dir / MODEL_CONFIG).write_text(text)
    with pytest.raises(WeightsError, match=f"bad model config .*{message}"):
        load_model(str(model_dir))


def test_default_model_missing_gives_plain_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub, "bundled_weights_dir", lambda: tmp_path)
    with pytest.raises(WeightsError, match="bundled default model is missing") as caught:
        load_model("default")
    assert caught.value.exit_code == 4


def test_default_model_loads_when_installed(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    monkeypatch.setattr(hub, "bundled_weights_dir", lambda: model_dir)
    loaded = load_model()
    assert (loaded.source.kind, loaded.source.spec, loaded.config) == ("bundled", "default", TINY)


# --- the Hub -------------------------------------------------------------------------------


def test_hub_download_then_offline_from_cache(
    fake_hub: FakeHub, cache_dir: Path, model_dir: Path
) -> None:
    online = _hub_load(fake_hub, cache_dir)
    assert online.source.kind == "hub"
    assert online.source.revision == fake_hub.commit(REPO)
    assert online.source.weights_path.is_relative_to(cache_dir)
    assert online.sha256 == load_model(str(model_dir)).sha256
    assert ("HEAD", f"/{REPO}/resolve/main/{MODEL_CONFIG}") in fake_hub.requests
    # The weights come from the commit the config came from, so a moving branch cannot mix them.
    assert ("HEAD", f"/{REPO}/resolve/{fake_hub.commit(REPO)}/{MODEL_WEIGHTS}") in fake_hub.requests

    endpoint = fake_hub.endpoint
    fake_hub.stop()
    seen = len(fake_hub.requests)
    offline = load_model(REPO, endpoint=endpoint, cache_dir=cache_dir, local_files_only=True)
    assert len(fake_hub.requests) == seen
    assert offline.source == online.source
    assert offline.sha256 == online.sha256


def test_hub_unreachable_falls_back_to_cache(fake_hub: FakeHub, cache_dir: Path) -> None:
    endpoint = fake_hub.endpoint
    online = load_model(REPO, endpoint=endpoint, cache_dir=cache_dir)
    fake_hub.stop()
    again = load_model(REPO, endpoint=endpoint, cache_dir=cache_dir)
    assert again.source == online.source


@pytest.fixture
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing cached, 2.4 retries a failed HEAD five times (1+2+4+8+8 s); skip the wait."""
    import huggingface_hub.file_download as file_download

    monkeypatch.setattr(file_download, "_DEFAULT_RETRY_ON_EXCEPTIONS", (), raising=False)
    monkeypatch.setattr(file_download, "_DEFAULT_RETRY_ON_STATUS_CODES", (), raising=False)


@pytest.mark.usefixtures("no_retries")
def test_hub_unreachable_and_not_cached(fake_hub: FakeHub, cache_dir: Path) -> None:
    endpoint = fake_hub.endpoint
    fake_hub.stop()
    with pytest.raises(WeightsError, match=f"cannot reach the Hub at {endpoint}: .*refused"):
        load_model(REPO, endpoint=endpoint, cache_dir=cache_dir)


@pytest.mark.usefixtures("no_retries")
def test_hub_outage_and_not_cached(fake_hub: FakeHub, cache_dir: Path) -> None:
    fake_hub.outage = 503
    expected = f"cannot reach the Hub at {fake_hub.endpoint}: HTTP 503 Service Unavailable"
    with pytest.raises(WeightsError, match=expected) as caught:
        _hub_load(fake_hub, cache_dir)
    assert "\n" not in str(caught.value)


def test_not_cached_with_local_files_only_mentions_offline(fake_hub: FakeHub, cache_dir: Path) -> None:
    with pytest.raises(WeightsError, match="not in the local cache and offline mode is on"):
        _hub_load(fake_hub, cache_dir, local_files_only=True)
    assert fake_hub.requests == []


def test_hf_hub_offline_is_honoured(
    fake_hub: FakeHub, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub reads HF_HUB_OFFLINE once, at import, so patch the value it read."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WeightsError, match=rf"model {REPO} \(revision main\) is not in the local cache"):
        _hub_load(fake_hub, cache_dir)
    assert fake_hub.requests == []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    online = _hub_load(fake_hub, cache_dir)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    seen = len(fake_hub.requests)
    assert _hub_load(fake_hub, cache_dir).source == online.source
    assert len(fake_hub.requests) == seen


def test_revision_pinned_to_commit_hash(fake_hub: FakeHub, cache_dir: Path) -> None:
    commit = fake_hub.commit(REPO, "v2")
    pinned = _hub_load(fake_hub, cache_dir, revision=commit)
    assert pinned.source.revision == commit
    assert pinned.sha256 == _hub_load(fake_hub, cache_dir, revision="v2").sha256
    assert pinned.sha256 != _hub_load(fake_hub, cache_dir).sha256
    fake_hub.stop()
    offline = load_model(REPO, revision=commit, cache_dir=cache_dir, local_files_only=True)
    assert offline.source == pinned.source


def test_unknown_repo_revision_and_files(fake_hub: FakeHub, cache_dir: Path) -> None:
    endpoint = fake_hub.endpoint
    with pytest.raises(WeightsError, match="no such model: acme/missing is not a local path") as caught:
        load_model("acme/missing", endpoint=endpoint, cache_dir=cache_dir)
    assert "\n" not in str(caught.value)
    with pytest.raises(WeightsError, match=f"model {REPO} has no revision nope"):
        _hub_load(fake_hub, cache_dir, revision="nope")
    with pytest.raises(WeightsError, match="has no model.safetensors: it is not a uhdrestore model"):
        load_model("acme/no-weights", endpoint=endpoint, cache_dir=cache_dir)


def test_download_file_fetches_one_file_and_words_its_failures(fake_hub: FakeHub, cache_dir: Path) -> None:
    """The public download other loaders (the SPN's VGG16 weights) use: cached, errors in one line."""
    path = hub.download_file(REPO, MODEL_CONFIG, endpoint=fake_hub.endpoint, cache_dir=cache_dir)
    assert json.loads(path.read_text())["detail_width"] == TINY.detail_width
    with pytest.raises(WeightsError, match="^acme/no-weights lacks it$"):
        hub.download_file("acme/no-weights", MODEL_WEIGHTS, endpoint=fake_hub.endpoint, cache_dir=cache_dir,
                          if_missing="acme/no-weights lacks it")
    with pytest.raises(WeightsError, match=r"acme/other \(revision main\) is not in the local cache"):
        hub.download_file("acme/other", MODEL_CONFIG, cache_dir=cache_dir, local_files_only=True)


def test_check_tensors_names_every_kind_of_mismatch() -> None:
    expected = {"a": torch.zeros(2), "b": torch.zeros(3), "c": torch.zeros(1)}
    given = {"a": torch.zeros(2), "b": torch.zeros(4), "d": torch.zeros(1)}
    with pytest.raises(WeightsError, match=r"^w do not match x: missing c; unexpected d; shape mismatch: b \(4,\)"):
        hub.check_tensors(given, expected, "w", against="x")
    with pytest.raises(WeightsError, match="^w hold NaN or infinite values in a$"):
        hub.check_tensors({"a": torch.tensor([float("inf"), 0.0])}, {"a": torch.zeros(2)}, "w", against="x")
    hub.check_tensors(dict(expected), expected, "w", against="x")  # a match passes silently


def test_list_models(
    fake_hub: FakeHub, cache_dir: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub, "bundled_weights_dir", lambda: tmp_path / "nothing-here")
    assert list_models(cache_dir=cache_dir) == []  # no cache yet, no bundled model
    _hub_load(fake_hub, cache_dir)
    _hub_load(fake_hub, cache_dir, revision="v2")
    with pytest.raises(WeightsError):
        load_model("acme/no-weights", endpoint=fake_hub.endpoint, cache_dir=cache_dir)
    monkeypatch.setattr(hub, "bundled_weights_dir", lambda: model_dir)
    models = list_models(cache_dir=cache_dir)
    assert [(m.name, m.kind, m.revision) for m in models] == [
        ("default", "bundled", None),
        (REPO, "hub", fake_hub.commit(REPO, "main")),
        (REPO, "hub", fake_hub.commit(REPO, "v2")),
    ]
    assert all(m.size_bytes > 0 and (m.location / MODEL_WEIGHTS).is_file() for m in models)


def test_hub_writes_only_into_the_cache(fake_hub: FakeHub, cache_dir: Path, tmp_path: Path) -> None:
    from huggingface_hub import constants

    home = Path(constants.HF_HOME)  # where 2.4 would cache its agent registry, xet logs, tokens

    def snapshot() -> set[Path]:
        written = {path for path in tmp_path.rglob("*") if not path.is_relative_to(cache_dir)}
        return written | (set(home.iterdir()) if home.is_dir() else set())

    before = snapshot()
    _hub_load(fake_hub, cache_dir)
    assert snapshot() == before
    assert any(cache_dir.rglob(MODEL_WEIGHTS))


@pytest.mark.parametrize("spec,reason", [
    ("./mine", "written as a path"), ("/no/such/model", "written as a path"), ("~/mine", "written as a path"),
    ("runs/mine.safetensors", "names a weights file"), ("runs/mine", "the folder runs exists"),
])
def test_a_missing_path_like_spec_is_a_local_error_without_the_hub(
    spec: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    monkeypatch.setattr(hub, "_hub_source", lambda *a, **k: pytest.fail("asked the Hub"))
    with pytest.raises(WeightsError, match=f"no such model folder or file: .*{reason}"):
        resolve_model(spec)


def test_an_unreachable_hub_fails_fast_without_the_library_retries(
    fake_hub: FakeHub, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the probe huggingface_hub 2.4 waits 1+2+4+8+8 s and logs a warning per retry."""
    import time

    endpoint = fake_hub.endpoint
    fake_hub.stop()
    started = time.perf_counter()
    with pytest.raises(WeightsError, match=f"cannot reach the Hub at {endpoint}: .*refused.*--offline"):
        load_model(REPO, endpoint=endpoint, cache_dir=cache_dir)
    assert time.perf_counter() - started < 5
    assert "Retrying" not in caplog.text


def test_a_hub_that_answers_errors_is_probed_once_then_the_error_mapped(fake_hub: FakeHub, cache_dir: Path) -> None:
    with pytest.raises(WeightsError, match="no such model: acme/missing"):
        load_model("acme/missing", endpoint=fake_hub.endpoint, cache_dir=cache_dir)
    assert len(fake_hub.requests) == 1


def test_hub_errors_are_caught_with_the_http_client_huggingface_hub_uses():
    """Importing httpx2 by name broke every Hub error on huggingface_hub 1.x; the library names its own."""
    from huggingface_hub import get_session

    assert isinstance(get_session(), hub.http_module().Client)
    assert "import httpx2" not in Path(hub.__file__).read_text(encoding="utf-8")
