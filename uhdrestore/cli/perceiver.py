"""`uhdrestore train-perceiver`: train the degradation perceiver that `inspect` and `batch --skip-clean` use."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..train.perceiver import PerceiverTraining
from .common import JsonOpt, QuietOpt, errors, print_json, stderr_console


def train_perceiver(
    clean: Annotated[list[Path], typer.Option(
        help="Folder of clean photos to degrade into labelled examples, searched recursively; repeat for several "
             "folders.", show_default=False)],
    holdout: Annotated[str, typer.Option(
        help="Comma-separated clean photos kept for validation, as paths relative to their --clean folder "
             "(default: ~15% chosen by --seed).")] = "",
    holdout_list: Annotated[Optional[Path], typer.Option(
        help="A file naming the validation photos, one per line (first tab- or comma-separated column; # "
             "comments skipped), e.g. benchmarks/validation_photos.tsv; adds to --holdout.",
        show_default=False)] = None,
    jpeg_downscale: Annotated[float, typer.Option(
        min=1.0, help="Shrink JPEG clean photos by this factor as they load, so their compression blocks and "
                      "sensor noise are not learned as damage (1 = as they are).")] = 1.0,
    examples: Annotated[int, typer.Option(min=1, help="Training examples generated up front.")] = 8000,
    validation_examples: Annotated[int, typer.Option(min=1, help="Validation examples from the held-out photos.")
                                   ] = 800,
    scenes: Annotated[int, typer.Option(
        min=0, help="Procedural clean scenes (grass, stems, petals, dew) drawn beside the photos; 0: photos only.")
    ] = 24,
    scene_grass: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of the --scenes that are dense, pale grass (a clean look that is easily "
                               "taken for rain).")] = 0.0,
    steps: Annotated[int, typer.Option(min=1, help="Optimisation steps.")] = 3000,
    batch_size: Annotated[int, typer.Option(min=1, help="Examples per step.")] = 64,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, cosine).")] = 2e-3,
    restorer: Annotated[str, typer.Option(
        help="Model whose outputs are the 'medium quality' (imperfectly restored) examples: 'default', a model "
             "folder, or 'none'.")] = "default",
    calibration_share: Annotated[float, typer.Option(
        min=0.0, max=0.9, help="Share of the training photos kept aside to calibrate each kind's detection "
                               "threshold on (0: every threshold 0.5).")] = PerceiverTraining.calibration_share,
    calibration_examples: Annotated[int, typer.Option(
        min=1, help="Examples generated from the calibration photos.")] = PerceiverTraining.calibration_examples,
    clean_false_alarms: Annotated[float, typer.Option(
        min=0.0, max=0.5, help="Calibration's target: the share of clean calibration examples that may be "
                               "flagged as degraded.")] = PerceiverTraining.clean_false_alarms,
    width: Annotated[int, typer.Option(
        min=1, help="Channels of the network's first layer (deeper layers use 2x and 4x): compute grows about "
                    "with its square.")] = PerceiverTraining.width,
    sparse_cues: Annotated[bool, typer.Option(
        "--sparse-cues", help="Give the crop network a full-resolution first layer and a spatial maximum, for "
                              "faint streaks and flakes (about 2x the compute).")] = PerceiverTraining.sparse_cues,
    init: Annotated[Optional[str], typer.Option(
        help="Start from this perceiver's weights and architecture (fine-tuning): 'default' (bundled), a perceiver "
             "folder or a cached Hub id; its thresholds are calibrated again.", show_default=False)] = None,
    hard_clean: Annotated[int, typer.Option(
        min=0, help="Extra examples drawn from the training photos the --init perceiver flags as degraded though "
                    "they are clean (whole or in a 512-px crop): 60% left clean, the rest degraded as usual. "
                    "Review learning's replay of hard samples; listed in RUN_DIR/hard_clean.txt.")] = 0,
    seed: Annotated[int, typer.Option()] = 0,
    run_dir: Annotated[Path, typer.Option(help="Where the checkpoint and validation.json go.")
                       ] = Path("runs/perceiver"),
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The trained perceiver folder, usable with --perceiver (default: RUN_DIR/model).",
        show_default=False)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from RUN_DIR's checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Start over in a RUN_DIR that holds a checkpoint (its cached examples are reused).")
    ] = False,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Train the degradation perceiver on clean photos degraded by uhdrestore's generators; prints its
    validation scores (per-kind F1, clean-vs-degraded accuracy) on the held-out photos."""
    from ..train.data import read_holdout_list
    from ..train.perceiver import train_perceiver as run
    from ..train.shared import check_run_dir, command_line

    console = stderr_console(quiet or json_output)
    with errors(console), _logged_to(console, "uhdrestore.train.perceiver"):
        try:
            listed = read_holdout_list(holdout_list) if holdout_list else ()
            named = tuple(name for name in holdout.split(",") if name)
            settings = PerceiverTraining(
                examples=examples, validation_examples=validation_examples, scenes=scenes, scene_grass=scene_grass,
                steps=steps, batch_size=batch_size, learning_rate=lr, seed=seed,
                holdout=tuple(dict.fromkeys(named + listed)), jpeg_downscale=jpeg_downscale,
                restorer=None if restorer == "none" else restorer, calibration_share=calibration_share,
                calibration_examples=calibration_examples, clean_false_alarms=clean_false_alarms, width=width,
                sparse_cues=sparse_cues, init=init, hard_clean_examples=hard_clean)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
        check_run_dir(run_dir, resume=resume, overwrite=overwrite)
        output_dir = output or run_dir / "model"
        scores = run(settings, clean_dir=list(clean), run_dir=run_dir, output_dir=output_dir, resume=resume,
                     command=command_line())
        if json_output:
            print_json({"command": "train-perceiver", "output": str(output_dir), "validation": scores.to_dict()})
            return
        f1 = "  ".join(f"{kind} {value:.3f}" for kind, value in scores.kind_f1.items())
        console.print(f"validation F1: {f1}", highlight=False)
        console.print(f"clean vs degraded accuracy {scores.clean_accuracy:.3f}, tier accuracy "
                      f"{scores.tier_accuracy:.3f}, severity error {scores.severity_mae:.3f}", highlight=False)
        console.print(f"perceiver: {output_dir}  (use: uhdrestore inspect PHOTO --perceiver {output_dir})")


class _ConsoleHandler(logging.Handler):
    """Log records as plain lines on the (stderr) console: the library logs, the CLI renders."""

    def __init__(self, console: Any) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(record.getMessage(), highlight=False, markup=False)


@contextlib.contextmanager
def _logged_to(console: Any, name: str) -> Iterator[None]:
    logger, handler = logging.getLogger(name), _ConsoleHandler(console)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
