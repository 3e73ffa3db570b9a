"""Run reports: the stage-by-task matrix, metrics.jsonl reading, the validation plot, the card."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from rich.console import Console

from uhdrestore.train.report import (
    MatrixRow,
    matrix_from_dict,
    matrix_inputs,
    matrix_table,
    matrix_to_dict,
    model_card,
    plot_validation,
    read_metrics,
)

TASKS = ["rain", "haze", "noise"]
INPUTS = {"rain": (20.5, 0.61), "haze": (14.0, 0.55), "noise": (18.25, 0.42)}


def _matrix() -> list[MatrixRow]:
    """A hand-made 3x3 continual-learning matrix: rain peaks after stage 2, then drops."""
    return [
        MatrixRow("rain", 1000, {"rain": 28.0, "haze": None, "noise": None},
                  {"rain": 0.85, "haze": None, "noise": None}),
        MatrixRow("haze", 2000, {"rain": 29.0, "haze": 24.0, "noise": None},
                  {"rain": 0.87, "haze": 0.80, "noise": None}),
        MatrixRow("noise", 3000, {"rain": 27.5, "haze": 23.0, "noise": 30.5},
                  {"rain": 0.84, "haze": 0.78, "noise": 0.9}),
    ]  # fmt: skip


def _render(table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=120, color_system=None).print(table)
    return buffer.getvalue()


def test_matrix_round_trips_through_json() -> None:
    data = matrix_to_dict(_matrix(), TASKS, schedule="review", inputs=INPUTS)
    text = json.dumps(data, allow_nan=False)  # strictly JSON-ready
    rows, tasks, schedule = matrix_from_dict(json.loads(text))
    assert rows == _matrix()
    assert tasks == TASKS
    assert schedule == "review"
    assert data["rows"][0]["psnr"]["haze"] is None
    assert data["input"]["noise"] == {"psnr": 18.25, "ssim": 0.42}
    assert matrix_inputs(data) == INPUTS


def test_matrix_summary_on_hand_made_matrix() -> None:
    summary = matrix_to_dict(_matrix(), TASKS, schedule="sequential")["summary"]
    assert summary["final_average_psnr"] == pytest.approx((27.5 + 23.0 + 30.5) / 3)
    assert summary["first_task_final_psnr"] == pytest.approx(27.5)
    assert summary["first_task_best_psnr"] == pytest.approx(29.0)
    assert summary["first_task_forgetting_db"] == pytest.approx(1.5)


def test_matrix_fills_missing_tasks_and_drops_non_finite() -> None:
    rows = [MatrixRow("rain", 10, {"rain": float("nan")}, {"rain": 0.5})]
    data = matrix_to_dict(rows, ["rain", "haze"], schedule="s")
    assert data["rows"][0]["psnr"] == {"rain": None, "haze": None}
    assert data["input"] == {}
    assert data["summary"]["final_average_psnr"] is None
    assert data["summary"]["first_task_forgetting_db"] is None
    assert matrix_to_dict([], TASKS, schedule="s")["summary"]["final_average_psnr"] is None


def test_matrix_from_dict_rejects_other_json() -> None:
    with pytest.raises(ValueError, match="matrix"):
        matrix_from_dict({"rows": []})


def test_table_renders_cells_dashes_and_average() -> None:
    text = _render(matrix_table(_matrix(), TASKS, title="stage x task", inputs=INPUTS))
    assert "stage x task" in text
    assert "avg PSNR" in text
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "28.00 / 0.850" in lines["after rain"]
    assert lines["after rain"].count("—") == 2
    assert "28.00" in lines["after rain"].split("│")[-2]  # average over the seen task only
    assert "30.50 / 0.900" in lines["after noise"]
    assert "27.00" in lines["after noise"].split("│")[-2]
    assert "20.50 / 0.610" in lines["input (degraded)"]
    order = [label for label in lines if label.startswith(("after", "input"))]
    assert order == ["input (degraded)", "after rain", "after haze", "after noise"]


def test_table_without_inputs_has_no_input_row() -> None:
    text = _render(matrix_table(_matrix(), TASKS))
    assert "input (degraded)" not in text
    assert "after haze" in text


def test_read_metrics_skips_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    records = [{"event": "train", "iteration": 10, "loss": 0.1},
               {"event": "val", "iteration": 20, "psnr": {"rain": 25.0}}]  # fmt: skip
    text = "".join(json.dumps(record) + "\n" for record in records)
    path.write_text(text + '\n{"event": "train", "iteration": 30, "lo')
    assert read_metrics(path) == records


def _write_run(path: Path, val_points: int, stage_ends: list[tuple[int, str]]) -> None:
    lines = []
    for index in range(val_points):
        iteration = 200 * (index + 1)
        seen = TASKS[: 1 + iteration // 1000]
        lines.append({"event": "train", "iteration": iteration - 100, "stage": 0,
                      "stage_name": "rain", "loss": 0.03, "lr": 1e-3, "it_per_s": 7.5,
                      "review_share": 0.0})  # fmt: skip
        lines.append({"event": "val", "iteration": iteration, "stage": iteration // 1000,
                      "psnr": {task: 20.0 + index * 0.3 + rank for rank, task in enumerate(TASKS)
                               if task in seen or task == "haze"},
                      "ssim": {task: 0.8 for task in TASKS}})  # fmt: skip
    lines += [{"event": "stage_end", "iteration": iteration, "stage": stage, "stage_name": name}
              for stage, (iteration, name) in enumerate(stage_ends)]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.mark.parametrize(
    ("val_points", "stage_ends"),
    [(15, [(1000, "rain"), (2000, "haze")]), (1, []), (0, [(1000, "rain")])],
    ids=["three-tasks-two-boundaries", "one-point", "no-points"],
)
def test_plot_validation_writes_png_atomically(
    tmp_path: Path, val_points: int, stage_ends: list[tuple[int, str]]
) -> None:
    metrics, png = tmp_path / "metrics.jsonl", tmp_path / "validation.png"
    _write_run(metrics, val_points, stage_ends)
    plot_validation(metrics, png)
    image = cv2.imread(str(png))
    assert image is not None
    assert image.shape[0] >= 300 and image.shape[1] >= 500
    assert image.std() > 5  # something was drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl", "validation.png"]
    plot_validation(metrics, png)  # overwrites in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl", "validation.png"]


def test_plot_validation_into_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    from uhdrestore.errors import OutputError

    metrics = tmp_path / "metrics.jsonl"
    _write_run(metrics, 2, [])
    with pytest.raises(OutputError):
        plot_validation(metrics, tmp_path / "missing" / "validation.png")


def test_model_card_has_header_command_and_matrix() -> None:
    command = "uhdrestore train --tasks rain,haze,noise --schedule review --iterations 3000"
    matrix = matrix_to_dict(_matrix(), TASKS, schedule="review", inputs=INPUTS)
    card = model_card(
        command=command, tasks=TASKS, schedule="review", matrix=matrix,
        config={"review": {"share": 0.25}, "seed": 0, "review_ratio": 0.3, "memory_size": 256},
        data="3,000 clean crops from the training photos, degraded on the fly.",
        budget="3,000 iterations on one H100, about 7 minutes.",
        notes=["Trained on synthetic degradations only."],
    )  # fmt: skip
    header = card.split("---\n")[1]
    assert card.startswith("---\n")
    for key in ("library_name: uhdrestore", "pipeline_tag: image-to-image", "tags:",
                "- image-restoration", "- all-in-one", "- uhdrestore", "- rain", "- noise"):
        assert key in header
    assert f"```bash\n{command}\n```" in card
    assert "uhdrestore fix photo.png --model PATH_OR_ID" in card
    for stage in TASKS:
        assert re.search(rf"^\| after {stage} \|.*\|$", card, flags=re.MULTILINE)
    assert "| after noise | 27.50 / 0.840 | 23.00 / 0.780 | 30.50 / 0.900 | 27.00 |" in card
    assert "| input (degraded) |" in card
    assert "forgetting 1.50 dB" in card
    assert "`review.share`: `0.25`" in card and "`review_ratio`: `0.3`" in card
    assert "`memory_size`: `256`" in card and "`seed`" not in card
    assert "## Limitations\n\n- Trained on synthetic degradations only." in card
    assert "3,000 clean crops" in card and "about 7 minutes" in card


def test_model_card_says_which_stages_weigh_more_in_a_joint_batch() -> None:
    matrix = matrix_to_dict(_matrix(), TASKS, schedule="joint", inputs=INPUTS)
    card = model_card(command="uhdrestore train", tasks=TASKS, schedule="joint", matrix=matrix, config={},
                      data="photos", budget="minutes", weights=[1, 3, 1])
    stages = card.split("Stages, in order:")[1].split("## Budget")[0]
    assert f"1. {TASKS[0]}\n" in stages and f"3. {TASKS[2]}\n" in stages
    assert f"2. {TASKS[1]} (weight 3: 3x its share of every batch)" in stages


def test_importing_reports_and_metrics_loads_no_plotting_library() -> None:
    """`uhdrestore --help` imports the CLI; matplotlib and torchmetrics must wait until used."""
    code = ("import sys, uhdrestore.metrics, uhdrestore.train.report; "
            "print(sorted(m for m in ('matplotlib', 'torchmetrics') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_model_card_front_matter_lists_the_final_psnr_per_task_for_the_hub() -> None:
    from huggingface_hub import ModelCard

    matrix = matrix_to_dict(_matrix(), TASKS, schedule="review", inputs=INPUTS)
    card = ModelCard(model_card(command="uhdrestore train", tasks=TASKS, schedule="review", matrix=matrix,
                                config={}, data="crops", budget="short"))
    assert card.data.pipeline_tag == "image-to-image"
    # Weights are not code: without --license the card claims no licence, and says why and how to set one.
    assert (card.data.license, card.data.license_name) == ("other", "follows-training-data")
    assert "## Licence" in card.text and "follows its training data's" in card.text
    assert "`uhdrestore train --license SPDX`" in card.text
    licensed = ModelCard(model_card(command="uhdrestore train", tasks=TASKS, schedule="review", matrix=matrix,
                                    config={}, data="crops", budget="short", license="Apache-2.0"))
    assert licensed.data.license == "apache-2.0" and licensed.data.license_name is None
    final = {result.metric_name: result.metric_value for result in card.data.eval_results}
    assert final == {"PSNR rain (dB)": 27.5, "PSNR haze (dB)": 23.0, "PSNR noise (dB)": 30.5}
