"""`uhdrestore push` and `train --push-to-hub`, against the stand-in Hub on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import perturbed_model
from tests.hub_server import WRITE_TOKEN, FakeHub
from uhdrestore.cli import app
from uhdrestore.hub import MODEL_CARD, MODEL_CONFIG, MODEL_WEIGHTS, load_model, save_model

REPO = "acme/tiny-restore"


@pytest.fixture(autouse=True)
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The stand-in Hub as the default endpoint, a write token in HF_TOKEN, no telemetry."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", WRITE_TOKEN)
    with FakeHub({}) as server:
        # As HF_ENDPOINT does when set before huggingface_hub is imported (it reads it once).
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            server.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        yield server


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    network = perturbed_model()
    folder = save_model(network, network.config, tmp_path / "model", model_card="---\nlicense: mit\n---\n# tiny\n")
    (folder / "checkpoint.safetensors").write_bytes(b"not for the Hub")
    return folder


def invoke(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_push_creates_the_repo_uploads_the_model_and_prints_the_commit(hub, model_dir, tmp_path):
    result = invoke("push", model_dir, REPO)
    assert result.exit_code == 0, result.output
    commit = result.stdout.strip()
    assert len(commit) == 40 and commit == hub.commit(REPO)
    assert f"--model {REPO} --revision {commit}" in result.stderr
    assert hub.commits[-1]["files"] == [MODEL_CARD, MODEL_CONFIG, MODEL_WEIGHTS]  # the checkpoint stayed home
    assert all(agent.startswith("uhdrestore/") for agent in hub.user_agents)
    # What a user pulls back at that commit is the model pushed, bit for bit.
    pulled = load_model(REPO, revision=commit, endpoint=hub.endpoint, cache_dir=tmp_path / "cache")
    assert pulled.sha256 == load_model(str(model_dir)).sha256 and pulled.source.revision == commit


def test_pushing_again_commits_again_and_the_first_commit_stays_pinnable(hub, model_dir, tmp_path):
    first = invoke("push", model_dir, REPO).stdout.strip()
    save_model(perturbed_model(seed=1), perturbed_model().config, model_dir)
    second = invoke("push", model_dir, REPO, "-m", "retrained").stdout.strip()
    assert first != second and hub.commits[-1]["summary"] == "retrained"
    old = load_model(REPO, revision=first, endpoint=hub.endpoint, cache_dir=tmp_path / "cache")
    new = load_model(REPO, endpoint=hub.endpoint, cache_dir=tmp_path / "cache")
    assert old.sha256 != new.sha256 and new.source.revision == second


def test_private_branch_and_pull_request(hub, model_dir):
    assert invoke("push", model_dir, REPO, "--private").exit_code == 0
    assert REPO in hub.private
    branch = invoke("push", model_dir, REPO, "--revision", "experiments", "--json")
    assert branch.exit_code == 0, branch.output
    report = json.loads(branch.stdout)
    assert report["revision"] == "experiments" and report["commit"] == hub.commit(REPO, "experiments")
    pull = invoke("push", model_dir, REPO, "--create-pr", "-m", "please review", "--json")
    assert pull.exit_code == 0, pull.output
    report = json.loads(pull.stdout)
    assert report["revision"] == "refs/pr/1" and report["pr_url"].endswith(f"/{REPO}/discussions/1")
    assert hub.titles[(REPO, 1)] == "please review"


def test_a_folder_that_does_not_load_is_never_pushed(hub, model_dir):
    (model_dir / MODEL_WEIGHTS).write_bytes(b"truncated")
    result = invoke("push", model_dir, REPO)
    assert result.exit_code == 4 and "corrupt weights file" in one_error_line(result)
    assert hub.requests == []


def test_without_a_login_push_says_how_to_log_in(hub, model_dir, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(model_dir.parent / "no-login"))  # no stored token either
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(model_dir.parent / "no-login" / "token"))
    result = invoke("push", model_dir, REPO)
    assert result.exit_code == 4 and "hf auth login" in one_error_line(result)
    assert hub.requests == []


@pytest.mark.parametrize("setup,message", [
    (lambda hub, monkeypatch: monkeypatch.setenv("HF_TOKEN", "hf_wrong"), "refused the token"),
    (lambda hub, monkeypatch: hub.denied.add("acme"), "no write access to acme/tiny-restore"),
    (lambda hub, monkeypatch: hub.stop(), "cannot reach the Hub"),
])
def test_hub_refusals_are_one_line_and_exit_4(hub, model_dir, monkeypatch, setup, message):
    setup(hub, monkeypatch)
    result = invoke("push", model_dir, REPO)
    assert result.exit_code == 4 and message in one_error_line(result), result.stderr
    assert not hub.commits


@pytest.mark.parametrize("args,message", [
    (["not-a-repo-id"], "not a Hub repository id"),
    ([REPO, "--create-pr", "--revision", "dev"], "cannot be combined with --revision dev"),
])
def test_usage_errors_exit_2_before_any_request(hub, model_dir, args, message):
    result = invoke("push", model_dir, *args)
    assert result.exit_code == 2 and message in one_error_line(result)
    assert hub.requests == []


def test_train_push_to_hub_publishes_the_finished_model(hub, tmp_path):
    from tests.train.test_data import write_photos

    clean = write_photos(tmp_path / "clean", count=4, size=(96, 128))
    result = invoke("train", "--stages", "rain", "--clean", clean, "--smoke", "--device", "cpu", "--quiet",
                    "--run-dir", tmp_path / "run", "--push-to-hub", REPO, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["pushed"] == {"repo_id": REPO, "commit": hub.commit(REPO)}
    pulled = load_model(REPO, endpoint=hub.endpoint, cache_dir=tmp_path / "cache")
    assert pulled.sha256 == load_model(str(tmp_path / "run" / "model")).sha256


def test_train_push_to_hub_checks_the_login_before_training(hub, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "no-token"))
    result = invoke("train", "--stages", "rain", "--clean", tmp_path, "--smoke", "--device", "cpu",
                    "--run-dir", tmp_path / "run", "--push-to-hub", REPO)
    assert result.exit_code == 4 and "before training" in one_error_line(result)
    assert not (tmp_path / "run" / "model").exists()
