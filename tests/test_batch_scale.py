"""`batch` at scale: torchrun on CPU, --shard, --files-from, --jobs and batch-report, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import perturbed_model, synthetic_photo
from uhdrestore.atomic import is_partial
from uhdrestore.cli import app
from uhdrestore.hub import save_model
from uhdrestore.io import Image, ImageMetadata, from_float, write_image
from uhdrestore.shard import shard_of

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR",
                      "MASTER_PORT", "TORCHELASTIC_RUN_ID", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID",
                      "SLURM_STEP_ID")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    network = perturbed_model()
    return save_model(network, network.config, tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(autouse=True)
def no_launcher(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def make_photos(folder: Path, count: int, height: int = 48, width: int = 64) -> list[str]:
    """`count` photos in `folder` and a sub-folder; returns their relative paths."""
    names = [f"{'sub/' if index % 3 == 0 else ''}img_{index:03d}.png" for index in range(count)]
    for index, name in enumerate(names):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(folder / name, Image(rgb=from_float(synthetic_photo(height, width, index), np.uint8),
                                         alpha=None, metadata=ImageMetadata()))
    return names


def outputs(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every restored file (reports and temporaries excluded)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*.png")
            if not is_partial(path)}


def partials(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if is_partial(path)]


def invoke(*args: object, **kwargs):
    return runner.invoke(app, [str(arg) for arg in args], **kwargs)


def clean_environment() -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in LAUNCHER_VARIABLES}
    return {**environment, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def torchrun(*args: object) -> subprocess.Popen:
    """`torchrun --standalone --nproc_per_node 2 -m uhdrestore batch ...` on the CPU."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "uhdrestore", "batch", *map(str, args)]
    return subprocess.Popen(command, cwd=REPO, env=clean_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def single_process(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uhdrestore", "batch", *map(str, args)], cwd=REPO,
                          env=clean_environment(), capture_output=True, text=True, timeout=120, check=False)


def rank_reports(out: Path) -> dict[int, list[dict]]:
    reports = {}
    for path in sorted((out / ".uhdrestore-batch").glob("rank-*-of-00002.jsonl")):
        records = [json.loads(line) for line in path.read_text().splitlines()]
        reports[records[0]["rank"]] = records
    return reports


def restored_inputs(records: list[dict], folder: Path) -> list[str]:
    return [Path(r["input"]).relative_to(folder).as_posix() for r in records
            if r["record"] == "item" and r["status"] == "ok"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, model_dir):
    """A folder of photos and its single-process batch output."""
    root = tmp_path_factory.mktemp("reference")
    folder = root / "photos"
    folder.mkdir()
    names = make_photos(folder, 24)
    done = single_process(folder, "-o", root / "single", "-r", "--model", model_dir, "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert sorted(outputs(root / "single")) == sorted(names)
    return folder, names, outputs(root / "single")


def test_torchrun_restores_every_image_exactly_once_as_one_process_does(tmp_path, model_dir, reference):
    folder, names, single = reference
    process = torchrun(folder, "-o", tmp_path / "out", "-r", "--model", model_dir, "--device", "cpu")
    _stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert outputs(tmp_path / "out") == single  # byte for byte
    reports = rank_reports(tmp_path / "out")
    assert sorted(reports) == [0, 1]
    done = [name for rank in (0, 1) for name in restored_inputs(reports[rank], folder)]
    assert sorted(done) == sorted(names)  # each once, none twice
    for rank in (0, 1):
        assert all(shard_of(name, 2) == rank for name in restored_inputs(reports[rank], folder))
    summary = json.loads((tmp_path / "out" / ".uhdrestore-batch" / "summary.json").read_text())
    assert summary["summary"]["processed"] == len(names) and summary["ranks_missing"] == []
    assert "rank 0/2 (torchrun)" in stderr and "rank 1/2 (torchrun)" in stderr and "all 2 ranks" in stderr


def _rank_process(parent: int, rank: int) -> int:
    """The pid of torchrun's worker with RANK=`rank` (a descendant of `parent`)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent_line = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if f"RANK={rank}".encode() in environment and int(parent_line.split()[1]) != 0:
            ancestors, pid = set(), int(entry.name)
            while pid > 1 and pid not in ancestors:
                ancestors.add(pid)
                try:
                    ppid = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                                if line.startswith("PPid:"))
                except (OSError, StopIteration):
                    break
                pid = int(ppid.split()[1])
                if pid == parent:
                    return int(entry.name)
    raise LookupError(f"no worker with RANK={rank} under {parent}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the rank's process through /proc")
def test_a_rerun_after_a_killed_rank_finishes_the_rest(tmp_path, model_dir, reference):
    folder, names, single = reference
    out = tmp_path / "out"
    ours = [name for name in names if shard_of(name, 2) == 1]
    assert len(ours) >= 6  # enough of rank 1's share left when it is stopped after its first file
    process = torchrun(folder, "-o", out, "-r", "--model", model_dir, "--device", "cpu")
    deadline = time.monotonic() + 90
    while not any((out / name).exists() for name in ours):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
        time.sleep(0.002)
    victim = _rank_process(process.pid, 1)
    os.kill(victim, signal.SIGSTOP)  # freeze it first, then kill: no clean-up, like a lost machine
    os.kill(victim, signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode != 0  # torchrun reports the lost rank and stops the other
    first = outputs(out)
    left = sorted(set(ours) - set(first))
    assert left, "rank 1 finished before it could be killed"
    stamps = {name: (out / name).stat().st_mtime_ns for name in first}

    process = torchrun(folder, "-o", out, "-r", "--model", model_dir, "--device", "cpu")
    _stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert outputs(out) == single  # complete, and identical to one process
    assert {name: (out / name).stat().st_mtime_ns for name in first} == stamps  # done files not redone
    reports = rank_reports(out)
    redone = [name for rank in (0, 1) for name in restored_inputs(reports[rank], folder)]
    assert sorted(redone) == sorted(set(names) - set(first))  # exactly the rest, each once
    assert partials(out) == []  # the killed rank's temporaries are gone
    summary = json.loads((out / ".uhdrestore-batch" / "summary.json").read_text())["summary"]
    assert (summary["processed"], summary["skipped"]) == (len(names) - len(first), len(first))


def test_manual_shards_cover_the_folder_and_batch_report_merges_them(tmp_path, model_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    names = make_photos(folder, 9)
    out = tmp_path / "out"
    first = invoke("batch", folder, "-o", out, "-r", "--shard", "0/3", "--model", model_dir, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["shard"] == {"rank": 0, "world_size": 3, "launcher": "--shard"}
    result = invoke("batch-report", out)
    assert result.exit_code == 1 and "rank(s) 1, 2 without a report" in result.stderr
    for rank in (1, 2):
        assert invoke("batch", folder, "-o", out, "-r", "--shard", f"{rank}/3", "--model", model_dir).exit_code == 0
    assert sorted(outputs(out)) == sorted(names)
    result = invoke("batch-report", out, "--json")
    assert result.exit_code == 0, result.output
    merged = json.loads(result.stdout)
    assert merged["summary"]["processed"] == 9 and merged["ranks_missing"] == merged["ranks_incomplete"] == []


def test_files_from_a_list_or_stdin_restores_only_those(tmp_path, model_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    names = make_photos(folder, 6)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{names[0]}\n\n{folder / names[4]}\r\n")
    result = invoke("batch", folder, "-o", tmp_path / "a", "--files-from", listing, "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert sorted(outputs(tmp_path / "a")) == sorted([names[0], names[4]])
    result = invoke("batch", folder, "-o", tmp_path / "b", "--files-from", "-", "--model", model_dir,
                    input=f"{names[1]}\n{tmp_path / 'elsewhere.png'}\nmissing.png\n")
    assert result.exit_code == 1  # the two bad lines failed, the batch went on
    assert sorted(outputs(tmp_path / "b")) == [names[1]]
    assert "not inside the input folder" in result.stderr and "missing.png" in result.stderr


def test_jobs_give_the_same_outputs(tmp_path, model_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    make_photos(folder, 7)
    for jobs in (1, 3):
        result = invoke("batch", folder, "-o", tmp_path / f"jobs{jobs}", "-r", "--jobs", jobs, "--model", model_dir)
        assert result.exit_code == 0, result.output
    assert outputs(tmp_path / "jobs1") == outputs(tmp_path / "jobs3")
    assert len(outputs(tmp_path / "jobs1")) == 7


@pytest.mark.parametrize("args, environment, message", [
    (["--shard", "3/2"], {}, "K must be below N"),
    (["--shard", "x"], {}, "expected K/N"),
    (["--files-from", "no-such-list.txt"], {}, "no such file: no-such-list.txt"),
    (["--jobs", "0"], {}, "--jobs"),
    ([], {"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2 is not below WORLD_SIZE=2"),
    ([], {"RANK": "0", "WORLD_SIZE": "x"}, "WORLD_SIZE='x' is not a whole number"),
    (["--shard", "0/2"], {"RANK": "0", "WORLD_SIZE": "2"}, "conflicts with torchrun"),
])
def test_bad_scale_options_are_one_line_usage_errors(tmp_path, model_dir, monkeypatch, args, environment,
                                                     message):
    folder = tmp_path / "photos"
    folder.mkdir()
    make_photos(folder, 1)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = invoke("batch", folder, "-o", tmp_path / "out", "--model", model_dir, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    if "--jobs" not in args:  # Click's own range check frames its message; ours are one line
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or outputs(tmp_path / "out") == {}


def test_batch_report_without_reports_is_an_error(tmp_path):
    result = invoke("batch-report", tmp_path)
    assert result.exit_code == 3 and "no batch reports" in result.stderr
    result = invoke("batch-report", tmp_path / "nope")
    assert result.exit_code == 3 and "not a folder" in result.stderr
