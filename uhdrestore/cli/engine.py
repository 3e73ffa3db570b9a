"""What `fix` and `batch` share: loading the restorer and the --guard perceiver, and report pieces.

Callers reach `load_restorer` through this module (`engine.load_restorer(...)`), so a test can
replace it and see that a command refuses bad input before any model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .. import __version__
from .common import quiet_hub_logging
from .inspect import load_perceiver_for_cli

GuardOpt = Annotated[Optional[bool], typer.Option(
    "--guard/--no-guard", help="Do no harm (on by default with the bundled model, unless --skip-clean): photos "
                               "the perceiver calls clean are written out as they were read (not restored; a JPEG "
                               "is re-encoded), so are photos in which it finds only blur (which the default model "
                               "does not undo), and photos in which it finds no haze, low light, rain or snow keep "
                               "their own tone and colour (only detail is restored). --no-guard restores every "
                               "photo as the model sees fit.",
    show_default=False)]

StrengthOpt = Annotated[float, typer.Option(
    "--strength", metavar="S",
    help="How much of the restorer's change to keep, 0 to 1: output = input + S x (restored - input). "
         "Below 1 for a result that overshoots (a pale photo darkened as if dehazed); photos "
         "the guard writes unchanged stay unchanged.")]


def guard_wanted(option: bool | None, model: str, *, skip_clean: bool = False) -> bool:
    """--guard / --no-guard as given; neither: on for the bundled model, whose harms the guard's rules were
    measured on (benchmarks/results/quality_foreign_validation_v5_guard_blur.txt, and v21's
    quality_foreign_validation_v21_guard.txt), unless --skip-clean."""
    if option is not None:
        return option
    return model == "default" and not skip_clean


def load_guard(guard: bool, perceiver: str, offline: bool) -> Any:
    """The perceiver module when --guard (or --skip-clean) asks for it, else None."""
    # --revision names a revision of --model, not of the perceiver.
    return load_perceiver_for_cli(perceiver, None, offline) if guard else None


def clean_perception(judge: Any, image: Any) -> Any:
    """The perceiver's reading of `image` if it calls it clean, else None (also when there is no judge)."""
    if judge is None:
        return None
    from ..perceive.inspect import clean_perception as judged_clean  # only --guard and --skip-clean need it

    return judged_clean(judge, image)


def load_restorer(spec: str, revision: str | None, offline: bool, device: str, precision: str,
                  tile: str, overlap: int, *, quiet: bool) -> Any:
    """The CLI's options -> (the LoadedModel, a ready Restorer); tile settings are checked before loading."""
    import huggingface_hub.constants
    import huggingface_hub.utils

    from ..pipeline import Restorer
    from ..restore import TileConfig

    try:
        tiles = TileConfig(tile=tile if tile == "auto" else int(tile), overlap=overlap)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    quiet_hub_logging()
    if quiet:
        huggingface_hub.utils.disable_progress_bars()
    restorer = Restorer.from_pretrained(
        spec, revision=revision, device=device, precision=precision, tiles=tiles,
        local_files_only=offline or bool(huggingface_hub.constants.HF_HUB_OFFLINE))
    return restorer.loaded, restorer


def tiling_report(result: Any) -> dict[str, Any]:
    return {"tile": result.tiling.tile, "tiles": result.tiling.tiles, "retries": result.tiling.retries,
            "fallbacks": result.fallbacks, "value_range": list(result.span) if result.span else None}


def guarded_restore(restorer: Any, judge: Any, image: Any, *, on_tile: Any = None,
                    strength: float = 1.0) -> tuple[Any, Any, Any]:
    """(output, the restore's result or None when --guard passed it, the guard's verdict or None).

    The output keeps `strength` of the change (--strength) when the image was restored."""
    from ..guard import blend
    from ..guard import guarded_restore as restore_as_guarded

    restored, result, verdict = restore_as_guarded(lambda part: restorer.restore(part, on_tile=on_tile), judge, image)
    return (restored if result is None else blend(image, restored, strength)), result, verdict


def guard_note(source: Path | str, verdict: Any) -> str | None:
    """The line --guard prints when it held the restorer back, else None."""
    if verdict is None or verdict.action == "restore":
        return None
    if verdict.action == "pass" and verdict.reason == "clean":
        return (f"note: {source} looks clean to the perceiver: written unchanged (the guard; --no-guard "
                "restores it)")
    if verdict.action == "pass":
        return (f"note: {source}: the perceiver finds {verdict.reason}, which the model does not undo: "
                "written unchanged (the guard; --no-guard restores it)")
    return (f"note: {source}: the perceiver finds no haze, low light, rain or snow: its tone and colour "
            "are kept, only detail is restored (the guard; --no-guard changes them too)")


def guard_tally(guarded: int, tone_kept: int) -> str:
    """What the guard held back, for a summary line: fix's and batch's say it the same way."""
    return f" ({guarded} written unchanged: clean or blur only; {tone_kept} kept their tone)"


def hdr_note(source: Path | str, span: tuple[float, float]) -> str:
    return (f"note: {source} holds values from {span[0]:g} to {span[1]:g} (beyond [0, 1]): restored scaled "
            "into [0, 1] and scaled back, not clipped")


def report_common(loaded: Any, restorer: Any) -> dict[str, Any]:
    return {"uhdrestore": __version__, "device": str(restorer.runtime.device),
            "precision": restorer.runtime.precision,
            "model": {"spec": loaded.source.spec, "kind": loaded.source.kind,
                      "revision": loaded.source.revision, "sha256": loaded.sha256}}
