"""Synthetic degradations for making training and test pairs from clean photos.

Each kind lives in its own module (`rain`, `haze`, `noise`, `blur`, `snow`, `lowlight`,
`jpeg`) with a frozen parameter dataclass, a pure `apply(image, params)` and a
`sample(rng, severity)` that draws parameters. Images are (H, W, 3) float32 RGB in [0, 1].
Kinds chain with "+": "rain+haze" samples rain then haze from one generator and applies
them in that order. A part may name one look of a kind that has several (`STYLES`):
"snow:crisp" always draws crisp snow, where "snow" draws the looks in their usual shares.

>>> import numpy as np
>>> image = np.full((32, 48, 3), 0.5, np.float32)
>>> degrade(image, "rain+haze", np.random.default_rng(0), severity=0.5).shape
(32, 48, 3)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from . import blur, haze, jpeg, lowlight, noise, rain, snow
from ._common import check_image, check_severity

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["KINDS", "parse_kind", "split_part", "sample_params", "sample_chain", "apply_params", "degrade",
           "params_to_dict", "params_from_dict", "blur", "haze", "jpeg", "lowlight", "noise", "rain", "snow"]

KINDS: tuple[str, ...] = ("rain", "haze", "noise", "blur", "snow", "lowlight", "jpeg")

_MODULES = {"rain": rain, "haze": haze, "noise": noise, "blur": blur, "snow": snow, "lowlight": lowlight,
            "jpeg": jpeg}
_STYLED = {"rain": rain.STYLES, "snow": snow.STYLES, "lowlight": lowlight.STYLES}  # kinds with several looks
_LAYERS = {"rain": rain.RainLayer, "snow": snow.SnowLayer}  # kinds whose `layers` field holds dataclasses
_PARAMS: dict[str, type[DataclassInstance]] = {
    "rain": rain.RainParams, "haze": haze.HazeParams, "noise": noise.NoiseParams, "blur": blur.BlurParams,
    "snow": snow.SnowParams, "lowlight": lowlight.LowLightParams, "jpeg": jpeg.JpegParams}


def parse_kind(spec: str) -> tuple[str, ...]:
    """"rain" -> ("rain",); "rain+haze" -> ("rain", "haze"), applied in that order; "snow:crisp" -> ("snow:crisp",).

    Case and spaces around names are ignored. Raises ValueError naming the known kinds
    (or the kind's looks) for an empty or unknown part.
    """
    if not isinstance(spec, str):
        raise ValueError(f"expected a kind such as 'rain' or 'rain+haze', got {spec!r}")
    parts = tuple(":".join(name.strip() for name in part.strip().lower().split(":")) for part in spec.split("+"))
    for part in parts:
        kind, style = split_part(part)
        if kind not in KINDS:
            what = "empty kind" if not kind else f"unknown kind {kind!r}"
            raise ValueError(f"{what} in {spec!r}; known kinds: {', '.join(KINDS)} (chain them with '+')")
        if style is not None and style not in _STYLED.get(kind, ()):
            looks = f"its looks are {', '.join(_STYLED[kind])}" if kind in _STYLED else "it has one look"
            raise ValueError(f"unknown look {style!r} of {kind} in {spec!r}; {looks}")
    return parts


def split_part(part: str) -> tuple[str, str | None]:
    """"snow:crisp" -> ("snow", "crisp"); "snow" -> ("snow", None)."""
    kind, _, style = part.partition(":")
    return kind, (style if _ else None)


def _module(kind: str) -> Any:
    if kind not in _MODULES:
        raise ValueError(f"unknown kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return _MODULES[kind]


def sample_params(kind: str, rng: np.random.Generator, severity: float | None = None, *,
                  style: str | None = None) -> object:
    """Draw the parameters of one `kind`, in its look `style` (None: drawn in its usual shares);
    severity None draws it uniformly from [0, 1] with `rng`.

    Raises ValueError for an unknown kind or look, or a severity outside [0, 1].
    """
    module = _module(kind)
    severity = float(rng.uniform(0.0, 1.0)) if severity is None else check_severity(severity)
    if style is None:
        return module.sample(rng, severity)
    if kind not in _STYLED:
        raise ValueError(f"{kind} has one look; got style {style!r}")
    return module.sample(rng, severity, style=style)


def sample_chain(spec: str, rng: np.random.Generator, severity: float | None = None) -> tuple[tuple[str, object], ...]:
    """((kind, params), ...) for every part of `spec`, sampled from `rng` in order ("snow:crisp": ("snow", ...))."""
    parts = [split_part(part) for part in parse_kind(spec)]
    if severity is not None:
        check_severity(severity)
    return tuple((kind, sample_params(kind, rng, severity, style=style)) for kind, style in parts)


def apply_params(kind: str, image: np.ndarray, params: object) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same: `kind`'s apply with `params` (which must be its dataclass)."""
    module = _module(kind)
    if not isinstance(params, _PARAMS[kind]):
        raise ValueError(f"{kind} needs {_PARAMS[kind].__name__}, got {type(params).__name__}")
    return module.apply(image, params)


def degrade(image: np.ndarray, spec: str, rng: np.random.Generator, severity: float | None = None) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same, degraded by every part of `spec` ("rain", "rain+haze", ...).

    All parts are sampled from `rng` first, in order, then applied in order. Raises
    ValueError for a bad image, kind or severity.
    """
    check_image(image)
    out = image
    for kind, params in sample_chain(spec, rng, severity):
        out = apply_params(kind, out, params)
    return out


def params_to_dict(params: object) -> dict[str, Any]:
    """{"kind": ..., **dataclasses.asdict(params)}: JSON-ready (tuples become lists when dumped)."""
    for kind, cls in _PARAMS.items():
        if isinstance(params, cls):  # as `apply` checks them
            return {"kind": kind, **dataclasses.asdict(params)}
    raise ValueError(f"not degradation parameters: {type(params).__name__}")


def params_from_dict(data: dict[str, Any]) -> object:
    """The parameters `params_to_dict` wrote (also read back from JSON): lists become tuples again.

    Fields added since the dict was written take their defaults, which reproduce the older
    output. Raises ValueError for an unknown kind, an unknown or missing field, or a bad value.
    """
    if not isinstance(data, dict) or data.get("kind") not in _PARAMS:
        raise ValueError(f"expected a dict with a 'kind' among {', '.join(KINDS)}, got {data!r}")
    cls = _PARAMS[data["kind"]]
    fields = {field.name for field in dataclasses.fields(cls)}
    values = {name: value for name, value in data.items() if name != "kind"}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(f"unknown {data['kind']} parameters: {', '.join(unknown)}")
    for name, value in values.items():
        if name == "layers" and data["kind"] in _LAYERS:
            values[name] = tuple(_LAYERS[data["kind"]](**layer) for layer in value)
        elif isinstance(value, list):
            values[name] = tuple(value)
    try:
        return cls(**values)
    except TypeError as error:  # a required field is missing
        raise ValueError(f"{data['kind']} parameters: {error}") from None
