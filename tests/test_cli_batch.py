"""`uhdrestore batch` options for picking files, planning, streaming and logs (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import invoke, make_folder, model_dir, write_photo  # noqa: F401  # model_dir is a fixture
from uhdrestore.io import read_image


def outputs(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and
                  not p.name.startswith("."))


def numbered_folder(root: Path, count: int = 5) -> Path:
    folder = root / "shots"
    folder.mkdir()
    for index in range(count):
        write_photo(folder / f"{index}.png", height=48, width=64, seed=index)
    return folder


def test_include_and_exclude_match_the_relative_path(tmp_path, model_dir):
    folder, out = make_folder(tmp_path), tmp_path / "out"
    result = invoke("batch", folder, "-o", out, "-r", "--include", "*.png", "--include", "*.tif",
                    "--exclude", "day/noon/*", "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert outputs(out) == ["a.png", "day/c.png"]
    assert "2 left out" in result.stderr


def test_limit_takes_the_first_files_and_a_rerun_resumes_them(tmp_path, model_dir):
    folder, out = numbered_folder(tmp_path), tmp_path / "out"
    assert invoke("batch", folder, "-o", out, "--limit", 2, "--model", model_dir).exit_code == 0
    assert outputs(out) == ["0.png", "1.png"]
    result = invoke("batch", folder, "-o", out, "--limit", 3, "--model", model_dir, "--json")
    summary = json.loads(result.stdout)["summary"]
    assert (summary["processed"], summary["skipped"]) == (1, 2) and outputs(out) == ["0.png", "1.png", "2.png"]
    result = invoke("batch", folder, "-o", out, "--limit", 0, "--model", model_dir)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "--limit" in result.stderr


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path, model_dir, monkeypatch):
    import uhdrestore.cli.engine

    monkeypatch.setattr(uhdrestore.cli.engine, "load_restorer", lambda *a, **k: pytest.fail("loaded a model"))
    folder, out = numbered_folder(tmp_path, 3), tmp_path / "out"
    result = invoke("batch", folder, "-o", out, "--dry-run", "--exclude", "2.png", "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{folder / '0.png'} -> {out.resolve() / '0.png'}",
                                          f"{folder / '1.png'} -> {out.resolve() / '1.png'}",
                                          f"skip {folder / '2.png'}: excluded by --exclude 2.png"]
    assert not out.exists()

    out.mkdir()
    write_photo(out / "1.png")
    result = invoke("batch", folder, "-o", out, "--dry-run", "--json", "--format", "jpg", "--suffix", "_r",
                    "--model", model_dir)
    report = json.loads(result.stdout)
    assert report["dry_run"] is True and report["summary"]["planned"] == 3
    assert [(Path(item["output"]).name, item["status"]) for item in report["items"]] == [
        ("0_r.jpg", "planned"), ("1_r.jpg", "planned"), ("2_r.jpg", "planned")]
    assert outputs(out) == ["1.png"]
    result = invoke("batch", folder, "-o", out, "--dry-run", "--json", "--model", model_dir)
    statuses = [(item["status"], item.get("reason")) for item in json.loads(result.stdout)["items"]]
    assert statuses == [("planned", None), ("skipped", "output exists"), ("planned", None)]


def test_jsonl_streams_one_line_per_file_with_absolute_paths(tmp_path, model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    numbered_folder(tmp_path, 3)
    (tmp_path / "shots" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = invoke("batch", "shots", "--jsonl", "--model", model_dir)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["status"] for line in lines] == ["ok", "failed", "ok"]
    assert lines[0]["input"] == str(tmp_path / "shots" / "0.png")
    assert all(Path(line["input"]).is_absolute() and Path(line["output"]).is_absolute() for line in lines)
    assert "1 failed" in result.stderr
    assert invoke("batch", "shots", "--jsonl", "--json").exit_code == 2


def test_json_paths_are_absolute(tmp_path, model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    numbered_folder(tmp_path, 1)
    report = json.loads(invoke("batch", "shots", "-o", "out", "--model", model_dir, "--json").stdout)
    assert report["output_dir"] == str(tmp_path / "out")
    assert report["items"][0]["input"] == str(tmp_path / "shots" / "0.png")
    assert report["items"][0]["output"] == str((tmp_path / "out" / "0.png").resolve())


def test_fail_fast_stops_at_the_first_failure(tmp_path, model_dir):
    folder, out = numbered_folder(tmp_path, 4), tmp_path / "out"
    (folder / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = invoke("batch", folder, "-o", out, "--fail-fast", "--model", model_dir)
    assert result.exit_code == 1 and "--fail-fast" in result.stderr and "1.png" in result.stderr
    assert "2.png" not in outputs(out) and "3.png" not in outputs(out)


def test_suffix_format_and_quality_in_a_batch(tmp_path, model_dir):
    folder, out = make_folder(tmp_path), tmp_path / "out"
    result = invoke("batch", folder, "-o", out, "-r", "--format", "jpg", "--suffix", "_r", "--quality", 40,
                    "--model", model_dir)
    assert result.exit_code == 1  # the 16-bit TIFF does not fit an 8-bit JPEG: refused, not squeezed
    assert outputs(out) == ["a_r.jpg", "b_r.jpg", "day/c_r.jpg"]
    assert "16-bit" in result.stderr and "d.tif" in result.stderr
    assert read_image(out / "a_r.jpg").rgb.dtype == np.uint8
    assert invoke("batch", folder, "-o", out, "--quality", 101, "--model", model_dir).exit_code == 2


def test_two_files_that_would_share_an_output_fail_the_second(tmp_path, model_dir):
    folder, out = tmp_path / "shots", tmp_path / "out"
    folder.mkdir()
    write_photo(folder / "a.jpg", seed=1)
    write_photo(folder / "a.png", seed=2)
    result = invoke("batch", folder, "-o", out, "--format", "webp", "--model", model_dir)
    assert result.exit_code == 1 and "another photo's too" in result.stderr
    assert outputs(out) == ["a.webp"]


def test_a_log_gets_plain_progress_lines(tmp_path, model_dir, monkeypatch):
    import uhdrestore.cli.common

    monkeypatch.setattr(uhdrestore.cli.common, "PROGRESS_INTERVAL", 0.0)
    folder = numbered_folder(tmp_path, 3)
    result = invoke("batch", folder, "--limit", 3, "--model", model_dir)
    lines = result.stderr.splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == ["1/3 files", "2/3 files", "3/3 files"]
    assert "MP/s" in lines[0] and "eta" in lines[0] and "3 restored" in lines[3]
    result = invoke("batch", folder, "-o", tmp_path / "again", "--model", model_dir)
    assert result.stderr.splitlines()[0].startswith("1 files, ") and "so far" in result.stderr
