"""Review learning, measured: the same stages and budget under review, sequential and joint schedules.

    python benchmarks/review_ablation.py --clean ../shared/data/train-photos \
        [--stages rain,haze,noise] [--iterations 800] [--run-root runs/ablation] [-- extra train options]

Runs `uhdrestore train` once per schedule (resuming a run that was interrupted), then
prints each stage-by-task matrix and one comparison table: the final average PSNR, and
how much of the first task each schedule forgot (best PSNR on it minus its final PSNR).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from uhdrestore.train.report import matrix_from_dict, matrix_inputs, matrix_table

SCHEDULES = ("review", "sequential", "joint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument("--stages", default="rain,haze,noise")
    parser.add_argument("--iterations", type=int, default=800)
    parser.add_argument("--run-root", type=Path, default=Path("runs/ablation"))
    parser.add_argument("extra", nargs="*", help="more `uhdrestore train` options, after --")
    args = parser.parse_args()

    console = Console()
    summaries = {}
    for schedule in SCHEDULES:
        run_dir = args.run_root / schedule
        matrix_path = run_dir / "matrix.json"
        if not matrix_path.exists():
            command = [sys.executable, "-m", "uhdrestore", "train", "--stages", args.stages, "--clean",
                       str(args.clean), "--iterations", str(args.iterations), "--schedule", schedule,
                       "--run-dir", str(run_dir), "--quiet", *args.extra]
            if (run_dir / "checkpoint.safetensors").exists():
                command.append("--resume")
            subprocess.run(command, check=True)
        matrix = json.loads(matrix_path.read_text())
        rows, tasks, _ = matrix_from_dict(matrix)
        console.print(matrix_table(rows, tasks, title=f"{schedule}", inputs=matrix_inputs(matrix)))
        summaries[schedule] = matrix["summary"]

    table = Table(title=f"{args.stages}, {args.iterations} iterations per stage, same budget for each schedule")
    for column in ("schedule", "final avg PSNR", "first task best", "first task final", "forgetting (dB)"):
        table.add_column(column, justify="right")
    for schedule, summary in summaries.items():
        table.add_row(schedule, f"{summary['final_average_psnr']:.2f}", f"{summary['first_task_best_psnr']:.2f}",
                      f"{summary['first_task_final_psnr']:.2f}", f"{summary['first_task_forgetting_db']:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
