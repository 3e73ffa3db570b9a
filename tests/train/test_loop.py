"""Training end to end: smoke run, exact resume (also after SIGKILL), data-parallel, stage order, exports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from tests.train.test_data import write_photos
from uhdrestore.cli import app
from uhdrestore.runtime import resolve_runtime
from uhdrestore.train.config import SMOKE_MODEL, StageConfig, TrainConfig
from uhdrestore.train.dist import Distributed
from uhdrestore.train import loop
from uhdrestore.train.loop import _Stopped, train
from uhdrestore.train.shared import ResumeMismatchError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return write_photos(tmp_path_factory.mktemp("data") / "clean", count=4, size=(96, 128))


SMALL = {"optim.steps_per_stage": 8, "optim.batch_size": 4, "data.patch_size": 32, "data.pool_size": 8,
         "data.val_size": 2, "data.val_patch_size": 48, "val_every": 4, "checkpoint_every": 4, "optim.warmup": 2,
         "review.memory_size": 4}


def small_config(**overrides) -> TrainConfig:
    """The smoke network on three stages; overrides as TrainConfig.replace takes them ("optim.lr")."""
    stages = tuple(StageConfig.parse(kind) for kind in ("rain", "haze", "noise"))
    return TrainConfig(stages=stages, model=SMOKE_MODEL).replace(**{**SMALL, **overrides})


def run(config: TrainConfig, clean: Path, run_dir: Path, **kwargs):
    return train(config, clean_dir=clean, run_dir=run_dir, output_dir=run_dir / "model",
                 runtime=resolve_runtime("cpu"), dist=Distributed(), **kwargs)


def test_smoke_training_writes_a_model_that_fix_uses(tmp_path, clean):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--stages", "rain,haze,noise", "--clean", str(clean), "--smoke",
                                 "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    for task in ("after rain", "after haze", "after noise"):
        assert task in result.stderr  # the stage-by-task matrix
    model = tmp_path / "run" / "model"
    assert {p.name for p in model.iterdir()} == {"config.json", "model.safetensors", "README.md"}
    matrix = json.loads((tmp_path / "run" / "matrix.json").read_text())
    assert [row["after_stage"] for row in matrix["rows"]] == ["rain", "haze", "noise"]
    assert matrix["rows"][0]["psnr"]["haze"] is None and matrix["rows"][2]["psnr"]["rain"] is not None
    assert (tmp_path / "run" / "validation.png").stat().st_size > 1000
    photo = next(clean.iterdir())
    fixed = runner.invoke(app, ["fix", str(photo), "--model", str(model), "-o", str(tmp_path / "out.png")])
    assert fixed.exit_code == 0, fixed.output
    assert (tmp_path / "out.png").exists()
    again = runner.invoke(app, ["train", "--clean", str(clean), "--smoke", "--run-dir", str(tmp_path / "run")])
    assert again.exit_code == 6 and "--resume" in again.stderr  # never silently restarts a run


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, clean):
    config = small_config(**{"losses.spn_weight": 0.01})
    run(config, clean, tmp_path / "straight")
    with pytest.raises(_Stopped):
        run(config, clean, tmp_path / "interrupted", stop_after=13)  # mid-stage 2, after the step-12 checkpoint
    resumed = run(config, clean, tmp_path / "interrupted", resume=True)
    straight = load_file(tmp_path / "straight" / "model" / "model.safetensors")
    again = load_file(resumed.output_dir / "model.safetensors")
    assert all(torch.equal(straight[name], again[name]) for name in straight)
    assert json.loads((tmp_path / "straight" / "matrix.json").read_text())["rows"] == resumed.matrix["rows"]


def test_batches_made_inline_or_in_a_thread_train_the_same_weights(tmp_path, clean, monkeypatch):
    config = small_config()
    weights = {}
    for cores, name in ((1, "inline"), (64, "threaded")):  # all cores busy with torch's threads, or one free
        monkeypatch.setattr(loop, "_usable_cores", lambda cores=cores: cores)
        prefetcher = loop.batch_prefetcher(resolve_runtime("cpu"))
        assert isinstance(prefetcher, ThreadPoolExecutor) == (name == "threaded")
        prefetcher.__exit__(None, None, None)
        weights[name] = load_file(run(config, clean, tmp_path / name).output_dir / "model.safetensors")
    assert all(torch.equal(weights["inline"][key], weights["threaded"][key]) for key in weights["inline"])


def test_resume_with_other_settings_is_refused(tmp_path, clean):
    with pytest.raises(_Stopped):
        run(small_config(), clean, tmp_path / "run", stop_after=5)
    with pytest.raises(ResumeMismatchError, match="other settings.*optim.lr"):
        run(small_config(**{"optim.lr": 1e-2}), clean, tmp_path / "run", resume=True)


def _command(clean: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "uhdrestore", "train", "--stages", "rain,haze", "--clean", str(clean),
            "--smoke", "--run-dir", str(run_dir), "--seed", "1", *extra]


def test_a_run_killed_with_sigkill_resumes_where_it_stopped(tmp_path, clean):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_command(clean, tmp_path / "straight"), check=True, env=env, capture_output=True)
    process = subprocess.Popen(_command(clean, tmp_path / "killed"), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / "checkpoint.safetensors"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists() and process.poll() is None  # killed mid-run, after its first checkpoint
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = subprocess.run(_command(clean, tmp_path / "killed", "--resume"), env=env, capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr
    straight = load_file(tmp_path / "straight" / "model" / "model.safetensors")
    again = load_file(tmp_path / "killed" / "model" / "model.safetensors")
    assert all(torch.equal(straight[name], again[name]) for name in straight)


def test_two_process_gloo_run_completes_and_agrees_with_its_checkpoint(tmp_path, clean):
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
         "-m", "uhdrestore", "train", "--stages", "rain,noise", "--clean", str(clean), "--smoke",
         "--run-dir", str(tmp_path / "ddp"), "--device", "cpu"],
        capture_output=True, text=True, timeout=300, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    checkpoint = load_file(tmp_path / "ddp" / "checkpoint.safetensors")
    exported = load_file(tmp_path / "ddp" / "model" / "model.safetensors")
    assert all(torch.equal(checkpoint[f"ema.{name}"], value) for name, value in exported.items())
    assert result.stderr.count("after noise") == 1  # one writer: rank 0 prints the matrix once


def test_auto_order_trains_the_mildest_degradation_first(tmp_path, clean):
    stages = tuple(StageConfig.parse(kind) for kind in ("haze", "jpeg", "noise"))
    result = run(small_config(stages=stages, **{"review.order": "auto", "optim.steps_per_stage": 2}, val_every=100),
                 clean, tmp_path / "run")
    input_psnr = [result.inputs[task][0] for task in result.tasks]
    assert input_psnr == sorted(input_psnr, reverse=True)
    assert result.tasks[0] == "jpeg" and result.tasks[-1] == "haze"


def test_training_patches_cut_from_larger_views(tmp_path, clean):
    result = run(small_config(**{"data.view_size": 48, "optim.steps_per_stage": 4}, val_every=100), clean,
                 tmp_path / "run")
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    assert set(result.tasks) == {"rain", "haze", "noise"}
    with pytest.raises(ValueError, match="view size"):
        small_config(**{"data.view_size": 24})


def test_views_of_several_sizes_train_the_context_on_each(tmp_path, clean):
    result = run(small_config(**{"data.view_size": 32, "data.view_max": 64, "optim.steps_per_stage": 4},
                              val_every=100), clean, tmp_path / "run")
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    assert set(result.tasks) == {"rain", "haze", "noise"}


@pytest.mark.parametrize("option", [("--clean-fraction", "2"), ("--stage-lr-decay", "1.5"),
                                    ("--jpeg-after", "-0.1"), ("--view-size", "20")])
def test_bad_training_settings_are_one_line_usage_errors(tmp_path, clean, option):
    result = CliRunner().invoke(app, ["train", "--stages", "rain", "--clean", str(clean),
                                      "--run-dir", str(tmp_path / "run"), *option])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flag,dark", [("--dark-channel", True), ("--no-dark-channel", False)])
def test_dark_channel_flag_chooses_the_context_the_model_is_built_with(tmp_path, clean, flag, dark):
    result = CliRunner().invoke(app, ["train", "--stages", "noise", "--clean", str(clean), "--preset", "small",
                                      "--iterations", "2", "--batch-size", "2", "--patch-size", "32",
                                      "--val-every", "2", "--checkpoint-every", "2", flag,
                                      "--run-dir", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["context_dark"] is dark


def test_export_writes_the_checkpointed_ema_model_of_an_unfinished_run(tmp_path, clean):
    with pytest.raises(_Stopped):
        run(small_config(), clean, tmp_path / "run", stop_after=6)
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "-o", str(tmp_path / "mid")])
    assert result.exit_code == 0, result.output
    assert "step 4" in result.stderr  # the last checkpoint, not the step the run was stopped at
    from uhdrestore.train.checkpoint import CHECKPOINT_NAME, load_checkpoint

    tensors, _ = load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)
    exported = load_file(tmp_path / "mid" / "model.safetensors")
    assert all(torch.equal(exported[key], tensors[f"ema.{key}"]) for key in exported)
    photo = tmp_path / "photo.png"
    write_photos(tmp_path / "one", count=1)
    fixed = runner.invoke(app, ["fix", str(tmp_path / "one" / "photo0.png"), "--model", str(tmp_path / "mid"),
                                "-o", str(photo)])
    assert fixed.exit_code == 0, fixed.output
    missing = runner.invoke(app, ["export", str(tmp_path / "nothing")])
    assert missing.exit_code == 4 and "no checkpoint" in missing.stderr
