"""benchmarks/speed.py smoke-runs at a tiny size and reports every row the issue asks for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_speed_benchmark_prints_one_table_with_every_row(tmp_path):
    report = tmp_path / "speed.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/speed.py", "--size", "128x96", "--repeats", "1", "--warmup", "0",
         "--skip-compile", "--json", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert table.startswith("# machine: ")
    data = json.loads(report.read_text())
    rows = {row["name"]: row for row in data["rows"]}
    expected_ok = [
        "cpu, tile auto, fp32, channels-last, eager",
        "cpu, untiled, fp32, channels-last, eager",
        "cpu, tile auto, fp32, NCHW, eager",
        "cpu, tile auto, bf16, channels-last, eager",
        "uhdrestore fix, 128x96 PNG",
        "uhdrestore batch, 3 images",
        "decode + encode only, 3 images",
        "OpenCV fastNlMeansDenoisingColored (call only)",
        "fix / NLM time ratio (target <= 1.0)",
        "uhdrestore fix, 256x192 PNG (1 run)",
        "uhdrestore fix, 512x384 PNG (1 run)",
        "fix peak RSS per pixel, 128x96 (target <= 16 B/px + 0.5 GiB)",
        "fix peak RSS per pixel, 256x192 (target <= 16 B/px + 0.5 GiB)",
        "fix peak RSS per pixel, 512x384 (target <= 16 B/px + 0.5 GiB)",
    ]
    for name in expected_ok:
        assert rows[name]["status"] == "ok", rows[name]
        assert name in table
    assert rows["cpu, tile auto, fp16, channels-last, eager"]["status"] == "unsupported"
    assert rows["cpu, tile auto, fp32, channels-last, torch.compile"]["status"] == "skipped"
    assert rows["uhdrestore fix, 128x96 PNG"]["peak_gib"] > 0
    assert rows["fix / NLM time ratio (target <= 1.0)"]["ratio"] > 0
    assert rows["uhdrestore batch, 3 images"]["images_per_s"] > 0
    assert rows["fix peak RSS per pixel, 512x384 (target <= 16 B/px + 0.5 GiB)"]["bytes_per_pixel"] > 0
    gpu = [row for row in data["rows"] if row["section"] == "gpu"]
    assert gpu and all(row["status"] in ("ok", "not measured") for row in gpu)
    assert data["flops_per_frame"] > 0


def test_only_memory_runs_the_three_fixes_and_their_memory_rows(tmp_path):
    report = tmp_path / "memory.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/speed.py", "--only-memory", "--size", "128x96", "--skip-16k",
         "--json", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(report.read_text())["rows"]}
    assert rows["fix peak RSS per pixel, 256x192 (target <= 16 B/px + 0.5 GiB)"]["bytes_per_pixel"] > 0
    assert rows["fix peak RSS per pixel, 128x96 (target <= 16 B/px + 0.5 GiB)"]["status"] == "ok"
    assert rows["fix peak RSS per pixel, 512x384 (target <= 16 B/px + 0.5 GiB)"]["status"] == "skipped"
    assert len(rows) == 6
