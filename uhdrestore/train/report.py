"""What a training run reports: the stage-by-task matrix, the validation plot and the model card.

The loop appends JSON lines to `metrics.jsonl` (events "train", "val", "stage_end");
everything here works from those records or the matrix built from them, so a report
can be redrawn from a run folder at any time, mid-run or after a crash. Nothing here
prints: tables come back as rich objects and text as strings, for the CLI to show.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from uhdrestore.atomic import atomic_path
from uhdrestore.extras import require_extra


__all__ = [
    "MatrixRow", "MetricsLog", "matrix_to_dict", "matrix_from_dict", "matrix_inputs", "matrix_summary",
    "matrix_table", "read_metrics", "plot_validation", "model_card",
]  # fmt: skip

logger = logging.getLogger(__name__)

MISSING = "—"
Scores = dict[str, float | None]
Inputs = Mapping[str, tuple[float | None, float | None]]


@dataclass(frozen=True)
class MatrixRow:
    """Validation scores on every task after one training stage (None: task not yet seen)."""

    after_stage: str  # stage name, e.g. "rain"
    iteration: int
    psnr: Scores  # task -> dB
    ssim: Scores  # task -> SSIM in [0, 1]


def _number(value: Any) -> float | None:
    """A finite float or None: JSON has no NaN/inf, and a missing score must not read as 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def matrix_summary(rows: Sequence[MatrixRow], tasks: Sequence[str]) -> dict[str, float | None]:
    """Final average PSNR, and how much of the first task was forgotten (best - final, dB)."""
    summary: dict[str, float | None] = dict.fromkeys(
        ["final_average_psnr", "first_task_final_psnr", "first_task_best_psnr",
         "first_task_forgetting_db"])  # fmt: skip
    if not rows or not tasks:
        return summary
    summary["final_average_psnr"] = _mean([_number(rows[-1].psnr.get(task)) for task in tasks])
    final = summary["first_task_final_psnr"] = _number(rows[-1].psnr.get(tasks[0]))
    seen = [score for row in rows if (score := _number(row.psnr.get(tasks[0]))) is not None]
    best = summary["first_task_best_psnr"] = max(seen) if seen else None
    if final is not None and best is not None:
        summary["first_task_forgetting_db"] = best - final
    return summary


def matrix_to_dict(
    rows: Sequence[MatrixRow], tasks: Sequence[str], *, schedule: str,
    inputs: dict[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """JSON-ready matrix: every row lists every task (None where unseen), plus a summary.

    `inputs` maps task -> (PSNR, SSIM) of the degraded input itself: the score a model
    must beat to be worth running. Non-finite scores become None.
    """
    def scores(values: dict[str, Any]) -> Scores:
        return {task: _number(values.get(task)) for task in tasks}

    return {
        "schedule": schedule,
        "tasks": list(tasks),
        "rows": [{"after_stage": row.after_stage, "iteration": int(row.iteration),
                  "psnr": scores(row.psnr), "ssim": scores(row.ssim)} for row in rows],
        "input": {task: {"psnr": _number(psnr_db), "ssim": _number(ssim_value)}
                  for task, (psnr_db, ssim_value) in (inputs or {}).items()},
        "summary": matrix_summary(rows, tasks),
    }  # fmt: skip


def matrix_from_dict(data: dict[str, Any]) -> tuple[list[MatrixRow], list[str], str]:
    """Inverse of `matrix_to_dict`: (rows, tasks, schedule). Raises ValueError if malformed."""
    try:
        tasks = [str(task) for task in data["tasks"]]
        rows = [MatrixRow(str(row["after_stage"]), int(row["iteration"]),
                          {task: _number(row["psnr"].get(task)) for task in tasks},
                          {task: _number(row["ssim"].get(task)) for task in tasks})
                for row in data["rows"]]  # fmt: skip
        return rows, tasks, str(data["schedule"])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"not a stage-by-task matrix: {exc!r}") from exc


def matrix_inputs(data: dict[str, Any]) -> Inputs:
    """The degraded inputs' own (PSNR, SSIM) per task, from a `matrix_to_dict` result."""
    entries = data.get("input") or {}
    return {task: (_number(v.get("psnr")), _number(v.get("ssim"))) for task, v in entries.items()}


def _matrix_lines(rows: Sequence[MatrixRow], tasks: Sequence[str], inputs: Inputs | None
                  ) -> list[list[str]]:  # fmt: skip
    """Plain-text cells ('28.41 / 0.871', a dash when missing) for both table renderings."""
    def line(label: str, psnr: Scores, ssim: Scores) -> list[str]:
        cells = []
        for task in tasks:
            psnr_db, ssim_value = _number(psnr.get(task)), _number(ssim.get(task))
            left = MISSING if psnr_db is None else f"{psnr_db:.2f}"
            right = MISSING if ssim_value is None else f"{ssim_value:.3f}"
            both_missing = psnr_db is None and ssim_value is None
            cells.append(MISSING if both_missing else f"{left} / {right}")
        average = _mean([_number(psnr.get(task)) for task in tasks])
        return [label, *cells, MISSING if average is None else f"{average:.2f}"]

    lines = []
    if inputs:
        lines.append(line("input (degraded)", {t: v[0] for t, v in inputs.items()},
                          {t: v[1] for t, v in inputs.items()}))  # fmt: skip
    return lines + [line(f"after {row.after_stage}", row.psnr, row.ssim) for row in rows]


def matrix_table(
    rows: Sequence[MatrixRow], tasks: Sequence[str], *, title: str | None = None,
    inputs: Inputs | None = None,
) -> Table:
    """A rich table: one row per stage, 'PSNR / SSIM' per task, and the average PSNR."""
    table = Table(title=escape(title) if title else None)
    table.add_column("stage", no_wrap=True)
    for task in [*tasks, "avg PSNR"]:
        table.add_column(escape(task), justify="right", no_wrap=True)
    for index, line in enumerate(_matrix_lines(rows, tasks, inputs)):
        table.add_row(*map(escape, line), end_section=bool(inputs) and index == 0)
    return table


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl, skipping lines that are not JSON objects.

    A run killed mid-write leaves a truncated last line, which must not stop a report.
    Raises OSError (e.g. FileNotFoundError) if the file cannot be read.
    """
    records = []
    for number, line in enumerate(Path(path).read_bytes().splitlines(), start=1):
        try:
            record = json.loads(line) if line.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            logger.warning("%s:%d: skipping a line that is not valid JSON", path, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def plot_validation(metrics_path: Path, png_path: Path) -> None:
    """Draw validation PSNR per task over iterations, with stage boundaries, as a PNG.

    Written atomically (a temporary .png in the same folder, then os.replace), so a
    viewer refreshing it during training never sees half an image. Raises OutputError
    if the PNG cannot be written (the folder must exist), MissingExtraError without the [train] extra.
    """
    # Imported here: matplotlib is in the [train] extra, slow to import, and only reports need it. A Figure
    # with an Agg canvas draws off-screen without touching pyplot's global backend.
    require_extra("train", "the validation plot", "matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    records = [r for r in read_metrics(metrics_path) if isinstance(r.get("iteration"), int)]
    curves: dict[str, list[tuple[int, float]]] = {}
    for record in (r for r in records if r.get("event") == "val"):
        for task, value in (record.get("psnr") or {}).items():
            if (score := _number(value)) is not None:
                curves.setdefault(str(task), []).append((record["iteration"], score))
    figure = Figure(figsize=(9, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for task, points in curves.items():
        iterations, scores = zip(*sorted(points))
        axes.plot(iterations, scores, marker="o", label=task)
    for record in (r for r in records if r.get("event") == "stage_end"):
        name = record.get("stage_name", f"stage {record.get('stage', '?')}")
        axes.axvline(record["iteration"], color="gray", linestyle="--", linewidth=1)
        axes.text(record["iteration"], 0.98, f"end of {name} ", rotation=90, va="top",
                  ha="right", color="gray", fontsize=8, transform=axes.get_xaxis_transform())
    if curves:
        axes.legend(title="task", loc="best")
    else:
        axes.text(0.5, 0.5, "no validation points yet", ha="center", va="center",
                  color="gray", transform=axes.transAxes)
    axes.set(xlabel="iteration", ylabel="validation PSNR (dB)",
             title=f"Validation PSNR per task: {Path(metrics_path).resolve().parent.name}")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole numbers
    axes.grid(True, alpha=0.3)
    with atomic_path(png_path, suffix=".png") as temporary:
        figure.savefig(temporary, format="png")


def _review_settings(config: dict[str, Any]) -> list[str]:
    """Config entries about hard-sample review: a 'review' section, or review/memory/replay keys."""
    found: dict[str, Any] = {}
    for key, value in config.items():
        if key == "review" and isinstance(value, dict):
            found.update({f"review.{name}": item for name, item in value.items()})
        elif any(word in key for word in ("review", "memory", "replay")):
            found[key] = value
    return [f"- `{key}`: `{json.dumps(value, default=str)}`" for key, value in found.items()]


def model_card(
    *, command: str, tasks: Sequence[str], schedule: str, matrix: dict[str, Any],
    config: dict[str, Any], data: str, budget: str, notes: Sequence[str] = (), license: str | None = None,
    weights: Sequence[int] = (),
) -> str:
    """A Hugging Face style README.md: what the model does, how it was made, how it scores
    after each stage and what it cannot do, so a downloaded model explains itself.

    `license` is the weights' SPDX id as their trainer gave it; None claims none (`license: other`)
    and the card's Licence section says how to set it. `weights` are the stages' shares of a joint batch
    (`--stages 'rain,snow*3'`); a stage weighing more than 1 says so in the stage list."""
    rows, matrix_tasks, _ = matrix_from_dict(matrix)
    summary = matrix_summary(rows, matrix_tasks)
    header = ["after stage", *(f"{task} PSNR / SSIM" for task in matrix_tasks), "avg PSNR"]
    lines = [header, ["---"] * len(header),
             *_matrix_lines(rows, matrix_tasks, matrix_inputs(matrix) or None)]  # fmt: skip
    table = ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines]
    facts = []
    if summary["final_average_psnr"] is not None:
        facts.append(f"- Final average PSNR over tasks: {summary['final_average_psnr']:.2f} dB")
    if summary["first_task_forgetting_db"] is not None:
        facts.append(f"- First task ({matrix_tasks[0]}): best {summary['first_task_best_psnr']:.2f}"
                     f" dB, final {summary['first_task_final_psnr']:.2f} dB, forgetting "
                     f"{summary['first_task_forgetting_db']:.2f} dB")  # fmt: skip
    review = _review_settings(config) or ["- No review (replay) settings in the training config."]
    intro = (f"One lightweight all-in-one network that restores photos degraded by "
             f"{', '.join(tasks)}, trained with `uhdrestore train` (schedule `{schedule}`).")
    from ..cards import front_matter, licence_fields, licence_section, restorer_card_data

    final = rows[-1].psnr if rows else {}
    header_data = restorer_card_data(tasks, model_name=f"uhdrestore model: {', '.join(tasks)}", psnr=final,
                                     dataset="uhdrestore validation crops (held-out photos)",
                                     **licence_fields(license))
    licence = licence_section(license, how_to_set="train with `uhdrestore train --license SPDX` (cc-by-4.0, "
                              "apache-2.0, ...) or set `license:` in this card's front matter before sharing it")
    sections = [
        front_matter(header_data).rstrip("\n"), "",
        f"# uhdrestore model: {', '.join(tasks)}", "", intro, "",
        "## How to use", "", "```bash", "uhdrestore fix photo.png --model PATH_OR_ID", "```", "",
        "`PATH_OR_ID` is this model's folder or its Hugging Face Hub repo id.", "",
        "## Training command", "", "```bash", command, "```", "",
        "## Data", "", data, "",
        "## Stages and schedule", "", f"Schedule: `{schedule}`. Stages, in order:", "",
        *(f"{index}. {task}" + (f" (weight {weight}: {weight}x its share of every batch)" if weight > 1 else "")
          for index, (task, weight) in enumerate(zip(tasks, weights or [1] * len(tasks)), start=1)), "",
        "## Budget", "", budget, "",
        "## Results", "",
        f"Validation PSNR (dB) / SSIM on each task after each stage ({MISSING}: not yet seen).",
        "", *table, "", *facts, *([""] if facts else []),
        "## Review settings", "", *review, "",
        "## Limitations", "", *([f"- {note}" for note in notes] or ["- None recorded."]), "",
        *licence,
    ]  # fmt: skip
    return "\n".join(sections) + "\n"


class MetricsLog:
    """metrics.jsonl, written by rank 0 only; on resume, lines past the checkpoint's step are dropped."""

    def __init__(self, path: Path, enabled: bool, resume_step: int | None) -> None:
        self.path, self.enabled = path, enabled
        if enabled and resume_step is not None and path.exists():
            kept = []
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line).get("iteration", 0) <= resume_step:
                        kept.append(line)
                except json.JSONDecodeError:
                    pass  # a line cut short by the kill
            path.write_text("".join(line + "\n" for line in kept))
        elif enabled and resume_step is None:
            path.write_text("")

    def __call__(self, record: dict[str, Any]) -> None:
        """Append one record ("event" names its kind; "iteration" is the global step)."""
        if self.enabled:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
