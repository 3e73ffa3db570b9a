"""`uhdrestore degrade`: make a degraded copy of a clean photo, e.g. to build test pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import (JsonOpt, OverwriteOpt, QuietOpt, check_output_path, default_output_path, errors,
                     print_json, stderr_console)


def _parse_kind(value: str) -> str:
    """Normalise "Rain + haze" to "rain+haze"; an unknown kind is a usage error (exit 2)."""
    from ..degrade import parse_kind

    try:
        return "+".join(parse_kind(value))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def degrade(
    input: Annotated[Path, typer.Argument(help="The clean photo to degrade.", show_default=False)],
    kind: Annotated[str, typer.Option(
        "--kind", "-k", callback=_parse_kind, show_default=False,
        help="rain, haze, noise, blur, snow, lowlight or jpeg; chain with '+' (rain+haze), applied in order; "
             "KIND:LOOK picks one look (snow:crisp, rain:dense_long, lowlight:dull).")],
    severity: Annotated[float, typer.Option(
        "--severity", "-s", min=0.0, max=1.0, help="0 light to 1 heavy; the other parameters are drawn at random.")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same output.")] = 0,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Where to write the result (default: NAME_KIND.EXT next to the input).",
        show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Degrade a clean photo with synthetic rain, haze, noise, blur, snow, low light or JPEG.

    Makes (clean, degraded) test pairs: the output keeps the input's size, bit depth, alpha and metadata.
    The same --kind, --severity and --seed always give the same pixels; --json prints the sampled parameters.

    Example: uhdrestore degrade photo.png --kind rain+haze --severity 0.7 --seed 3
    """
    import numpy as np

    from ..degrade import apply_params, params_to_dict, sample_chain
    from ..io import check_writable, map_rgb, read_image, value_range, write_image

    console = stderr_console(quiet or json_output)
    with errors(console):
        target = output or default_output_path(input, suffix=f"_{kind.replace(':', '-')}")
        check_output_path(input, target, overwrite=overwrite)
        image = read_image(input)
        check_writable(target, image.dtype)
        span = value_range(image.rgb)
        if span is not None:
            console.print(f"note: {input} holds values from {span[0]:g} to {span[1]:g} (beyond [0, 1]): degraded "
                          "scaled into [0, 1] and scaled back, not clipped", highlight=False, soft_wrap=True)
        parts = sample_chain(kind, np.random.default_rng(seed), severity)

        def apply_chain(rgb: np.ndarray) -> np.ndarray:
            for part, params in parts:
                rgb = apply_params(part, rgb, params)
            return rgb

        write_image(target, map_rgb(image, apply_chain))
        if json_output:
            print_json({"command": "degrade", "input": str(input), "output": str(target), "kind": kind,
                        "severity": severity, "seed": seed, "size": [image.width, image.height],
                        "parts": [params_to_dict(params) for _, params in parts]})
        elif not quiet:
            typer.echo(str(target))
