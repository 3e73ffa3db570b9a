"""`uhdrestore train` settings: --config files with flags over them, --resume from the run folder
alone, the resolved config in the run folder, per-stage exports, exit codes, the fp16 scaler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from typer.testing import CliRunner

from tests.train.test_data import write_photos
from tests.train.test_loop import run, small_config
from uhdrestore.cli import app
from uhdrestore.runtime import Runtime
from uhdrestore.train.checkpoint import load_checkpoint
from uhdrestore.train.config import TrainConfig
from uhdrestore.train.dist import Distributed
from uhdrestore.train.loop import _Stopped, train
from uhdrestore.train.shared import CHECKPOINT_NAME


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return write_photos(tmp_path_factory.mktemp("data") / "clean", count=4, size=(96, 128))


def invoke(*args: str):
    return CliRunner().invoke(app, ["train", *args, "--device", "cpu", "--quiet"])


def test_the_run_folder_records_the_resolved_settings_and_each_stage(tmp_path, clean):
    result = invoke("--stages", "rain,noise", "--clean", str(clean), "--smoke", "--lr", "0.001",
                    "--clean-weight", "4", "--license", "CC-BY-4.0", "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    config = TrainConfig.from_dict(saved["train"])
    assert config.optim.lr == 0.001 and config.optim.steps_per_stage == 12 and saved["clean"] == [str(clean)]
    assert config.losses.clean_weight == 4.0
    assert config.license == "cc-by-4.0"  # as the Hub spells it; recorded, so --resume keeps it
    card = ModelCard.load(tmp_path / "run" / "model" / "README.md")
    assert card.data.license == "cc-by-4.0" and "The weights are under `cc-by-4.0`" in card.text
    stages = sorted(path.name for path in (tmp_path / "run" / "stages").iterdir())
    assert stages == ["01-rain", "02-noise"]
    last = load_file(tmp_path / "run" / "stages" / "02-noise" / "model.safetensors")
    final = load_file(tmp_path / "run" / "model" / "model.safetensors")
    assert all(torch.equal(last[key], final[key]) for key in final)  # the last stage's export is the model


def test_hard_clean_reads_its_photo_list_into_the_run_settings(tmp_path, clean):
    listed = tmp_path / "hard.tsv"
    listed.write_text("# mined by recipes/hard_clean.py\npath\tpsnr\nphoto0.png\t18.20\n")
    result = invoke("--stages", "haze", "--clean", str(clean), "--holdout", "photo3.png", "--smoke",
                    "--hard-clean", str(listed), "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    config = TrainConfig.from_dict(json.loads((tmp_path / "run" / "config.json").read_text())["train"])
    assert config.data.hard_clean == ("photo0.png",)
    listed.write_text("photo3.png\n")  # a validation photo is never trained on
    result = invoke("--stages", "haze", "--clean", str(clean), "--holdout", "photo3.png", "--smoke",
                    "--hard-clean", str(listed), "--run-dir", str(tmp_path / "again"))
    assert result.exit_code != 0 and "not training photos" in result.output


def test_a_config_file_sets_what_flags_do_not(tmp_path, clean):
    settings = tmp_path / "settings.yaml"
    settings.write_text("stages: [{name: haze, kind: haze}]\noptim: {lr: 0.004, steps_per_stage: 3}\n"
                        "data: {patch_size: 32, val_size: 2, val_patch_size: 48, pool_size: 4}\n"
                        "model: {detail_width: 8, body_width: 16, body_blocks: 1, body_iterations: 1, "
                        "context_width: 8}\n")
    result = invoke("--config", str(settings), "--iterations", "2", "--batch-size", "2", "--clean", str(clean),
                    "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    config = TrainConfig.from_dict(json.loads((tmp_path / "run" / "config.json").read_text())["train"])
    assert config.optim.lr == 0.004  # from the file
    assert config.optim.steps_per_stage == 2 and config.optim.batch_size == 2  # flags win
    assert [stage.name for stage in config.stages] == ["haze"] and config.data.patch_size == 32


def test_resume_needs_only_the_run_folder(tmp_path, clean):
    first = invoke("--stages", "rain,noise", "--clean", str(clean), "--smoke", "--seed", "3",
                   "--run-dir", str(tmp_path / "straight"))
    assert first.exit_code == 0, first.output
    config = TrainConfig.from_dict(json.loads((tmp_path / "straight" / "config.json").read_text())["train"])
    with pytest.raises(_Stopped):
        run(config, clean, tmp_path / "killed", stop_after=15)
    resumed = invoke("--resume", "--run-dir", str(tmp_path / "killed"))
    assert resumed.exit_code == 0, resumed.output
    a = load_file(tmp_path / "straight" / "model" / "model.safetensors")
    b = load_file(tmp_path / "killed" / "model" / "model.safetensors")
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_resuming_with_other_settings_is_a_usage_error(tmp_path, clean):
    with pytest.raises(_Stopped):
        run(small_config(), clean, tmp_path / "run", stop_after=5)
    result = invoke("--resume", "--run-dir", str(tmp_path / "run"), "--clean", str(clean), "--lr", "0.01")
    assert result.exit_code == 2 and "optim.lr" in result.stderr, result.output
    again = invoke("--run-dir", str(tmp_path / "run"), "--clean", str(clean), "--smoke")
    assert again.exit_code == 6 and "--overwrite" in again.stderr


def test_a_licence_that_is_not_an_spdx_id_is_a_usage_error(tmp_path, clean):
    result = invoke("--stages", "rain", "--clean", str(clean), "--license", "MIT License",
                    "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 2 and "expected an SPDX id such as cc-by-4.0" in result.stderr, result.output
    assert not (tmp_path / "run").exists()


def test_a_bad_config_file_is_a_usage_error(tmp_path, clean):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"stages": [{"name": "rain", "kind": "rain"}], "optim": {"learnrate": 1}}))
    result = invoke("--config", str(settings), "--clean", str(clean), "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 2 and "learnrate" in result.stderr
    assert not (tmp_path / "run").exists()


def test_fp16_training_scales_its_gradients_and_resumes_exactly(tmp_path, clean):
    # fp16 is a CUDA precision (resolve_runtime refuses it on the CPU); CPU autocast runs it too, which is
    # enough to check that the scaler is on, steps, and is carried by the checkpoint.
    runtime = Runtime(torch.device("cpu"), "fp16")
    config = small_config(**{"optim.steps_per_stage": 4}, checkpoint_every=2, val_every=100)

    def fp16_run(run_dir: Path, **kwargs):
        return train(config, clean_dir=clean, run_dir=run_dir, output_dir=run_dir / "model", runtime=runtime,
                     dist=Distributed(), **kwargs)

    straight = fp16_run(tmp_path / "straight")
    _tensors, state = load_checkpoint(tmp_path / "straight" / CHECKPOINT_NAME)
    assert state["scaler"]["scale"] > 0 and "_growth_tracker" in state["scaler"]
    with pytest.raises(_Stopped):
        fp16_run(tmp_path / "killed", stop_after=7)
    resumed = fp16_run(tmp_path / "killed", resume=True)
    a, b = (load_file(result.output_dir / "model.safetensors") for result in (straight, resumed))
    assert all(torch.equal(a[key], b[key]) for key in a)
    fp32 = run(config, clean, tmp_path / "fp32")
    assert "scaler" not in load_checkpoint(fp32.output_dir.parent / CHECKPOINT_NAME)[1]  # off without fp16


def test_init_fine_tunes_a_trained_model_instead_of_a_fresh_network(tmp_path, clean):
    first = invoke("--stages", "noise", "--clean", str(clean), "--smoke", "--run-dir", str(tmp_path / "first"))
    assert first.exit_code == 0, first.output
    start = load_file(tmp_path / "first" / "model" / "model.safetensors")
    # At a learning rate too small to move anything, a fine-tune ends where its --init model was.
    tuned = invoke("--stages", "noise", "--clean", str(clean), "--smoke", "--lr", "1e-12",
                   "--init", str(tmp_path / "first" / "model"), "--run-dir", str(tmp_path / "tuned"))
    assert tuned.exit_code == 0, tuned.output
    end = load_file(tmp_path / "tuned" / "model" / "model.safetensors")
    assert all(torch.allclose(start[key], end[key], atol=1e-6) for key in start)
    saved = TrainConfig.from_dict(json.loads((tmp_path / "tuned" / "config.json").read_text())["train"])
    assert saved.init == str(tmp_path / "first" / "model")
    fresh = invoke("--stages", "noise", "--clean", str(clean), "--smoke", "--lr", "1e-12",
                   "--run-dir", str(tmp_path / "fresh"))
    assert fresh.exit_code == 0, fresh.output
    other = load_file(tmp_path / "fresh" / "model" / "model.safetensors")
    assert not all(torch.allclose(start[key], other[key], atol=1e-6) for key in start)


def test_init_refuses_a_preset_and_a_missing_model(tmp_path, clean):
    preset = invoke("--stages", "noise", "--clean", str(clean), "--init", "default", "--preset", "small",
                    "--run-dir", str(tmp_path / "a"))
    assert preset.exit_code == 2 and "--init" in preset.output
    missing = invoke("--stages", "noise", "--clean", str(clean), "--smoke", "--init", str(tmp_path / "nowhere"),
                     "--run-dir", str(tmp_path / "b"))
    assert missing.exit_code not in (0, 1) and "Traceback" not in missing.output


def test_a_weighted_stage_trains_jointly_and_is_recorded(tmp_path, clean):
    review = invoke("--stages", "rain*2,noise", "--clean", str(clean), "--smoke", "--run-dir", str(tmp_path / "r"))
    assert review.exit_code == 2 and "--schedule joint" in review.stderr, review.output
    joint = invoke("--stages", "rain*2,noise", "--schedule", "joint", "--clean", str(clean), "--smoke",
                   "--run-dir", str(tmp_path / "j"))
    assert joint.exit_code == 0, joint.output
    config = TrainConfig.from_dict(json.loads((tmp_path / "j" / "config.json").read_text())["train"])
    assert [(stage.name, stage.weight) for stage in config.stages] == [("rain", 2), ("noise", 1)]
