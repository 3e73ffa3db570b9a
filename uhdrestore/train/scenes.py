"""Procedural clean scenes: grass, stems, petals, wires and dew drawn from random shapes.

Ten real photos are too few to teach the perceiver what clean looks like: it learned
that thin bright lines are rain and small white dots are snow, and then flagged a clean
meadow (bright grass blades) as rainy. These scenes put exactly such structures into
clean training images, in random colours, directions and depths of field, so that
rain and snow have to be told apart from them by how they look, not by their being thin
and bright. Dense grass scenes (`scenes(..., grass=share)`) are fields of thin pale blades
leaning one way, often under a sky: the look of both held-out photos, which models that had
not seen it clean took for rain or haze. Every scene is a pure function of its seed.

>>> scene(np.random.default_rng(0), 96, 128).shape
(96, 128, 3)
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["SCENE_SHARE", "scene", "scenes"]

SCENE_SHARE = 0.35  # share of training frames cut from scenes rather than photos, when scenes are used

LAYER_KINDS = ("blades", "stems", "petals", "dew", "bokeh")


def _palette(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` RGB colours in [0, 1] around one random hue (nature is mostly near one hue)."""
    base = rng.uniform(0, 180)
    hues = (base + rng.normal(0, 18, count)) % 180
    saturation = rng.uniform(20, 255, count)
    value = rng.uniform(60, 255, count)
    hsv = np.stack([hues, saturation, value], axis=1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0].astype(np.float32) / 255


def _background(rng: np.random.Generator, height: int, width: int, palette: np.ndarray) -> np.ndarray:
    """A smooth field blending the palette: a defocused backdrop or an open sky."""
    grid = rng.integers(len(palette), size=(int(rng.integers(2, 6)), int(rng.integers(2, 6))))
    small = (max(8, width // 16), max(8, height // 16))  # blur small, then enlarge: the same field, fast
    field = cv2.GaussianBlur(cv2.resize(palette[grid], small, interpolation=cv2.INTER_CUBIC), (0, 0), max(small) / 12)
    return np.clip(cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR), 0, 1)


def _colour(rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    colour = palette[int(rng.integers(len(palette)))] * rng.uniform(0.7, 1.4)
    return np.clip(colour, 0, 1)


def _blade(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, angle: float,
           palette: np.ndarray, scale: float, widths: tuple[float, float] = (6, 70), spread: float = 12) -> None:
    """A tapered, slightly curved leaf or grass blade with a lighter midrib."""
    height, width = alpha.shape
    length = rng.uniform(0.15, 0.8) * height * scale
    base_width = rng.uniform(*widths) * scale
    x, y = rng.uniform(-0.1, 1.1) * width, rng.uniform(0.3, 1.2) * height
    bend = rng.normal(0, 0.3)
    steps = np.linspace(0, 1, 16)
    theta = np.deg2rad(angle + rng.normal(0, spread)) + bend * steps
    centre = np.stack([x + np.cumsum(np.sin(theta)) * length / 16, y - np.cumsum(np.cos(theta)) * length / 16], 1)
    normal = np.stack([np.cos(theta), np.sin(theta)], 1)
    half = (base_width / 2 * (1 - steps ** 1.5))[:, None]
    outline = np.concatenate([centre + normal * half, (centre - normal * half)[::-1]])
    colour = _colour(rng, palette)
    points = np.round(outline * 4).astype(np.int32)  # 2 fractional bits: smooth edges
    cv2.fillPoly(canvas, [points], colour.tolist(), cv2.LINE_AA, shift=2)
    cv2.fillPoly(alpha, [points], 1.0, cv2.LINE_AA, shift=2)
    if rng.random() < 0.7:  # the midrib catches the light: a thin bright line along the blade
        light = np.clip(colour + rng.uniform(0.15, 0.6), 0, 1)
        rib = np.round(centre[: int(rng.integers(8, 16))] * 4).astype(np.int32)
        cv2.polylines(canvas, [rib], False, light.tolist(), max(1, round(base_width / 6)), cv2.LINE_AA, shift=2)


def _stem(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, angle: float,
          palette: np.ndarray, scale: float) -> None:
    """A thin straight line: a stem, a wire, a twig, often lighter than what is behind it."""
    height, width = alpha.shape
    length = rng.uniform(0.2, 1.2) * max(height, width) * scale
    theta = np.deg2rad(angle + rng.normal(0, 25))
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    end = (x + np.sin(theta) * length, y - np.cos(theta) * length)
    colour = _colour(rng, palette) if rng.random() < 0.8 else np.full(3, rng.uniform(0.6, 1.0))
    points = np.round(np.array([[x, y], end]) * 4).astype(np.int32)
    thickness = int(rng.integers(1, 4))
    cv2.polylines(canvas, [points], False, colour.tolist(), thickness, cv2.LINE_AA, shift=2)
    cv2.polylines(alpha, [points], False, 1.0, thickness, cv2.LINE_AA, shift=2)


def _petal(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, angle: float,
           palette: np.ndarray, scale: float) -> None:
    """A small flower: a ring of ellipses around a centre, often white or pale."""
    height, width = alpha.shape
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    radius = rng.uniform(3, 25) * scale
    colour = np.full(3, rng.uniform(0.8, 1.0)) if rng.random() < 0.5 else _colour(rng, palette)
    count = int(rng.integers(4, 9))
    for turn in np.linspace(0, 360, count, endpoint=False) + rng.uniform(0, 360):
        offset = np.array([np.cos(np.deg2rad(turn)), np.sin(np.deg2rad(turn))]) * radius * 0.6
        centre = (round(x + offset[0]), round(y + offset[1]))
        axes = (max(1, round(radius * 0.6)), max(1, round(radius * 0.3)))
        cv2.ellipse(canvas, centre, axes, float(turn), 0, 360, colour.tolist(), -1, cv2.LINE_AA)
        cv2.ellipse(alpha, centre, axes, float(turn), 0, 360, 1.0, -1, cv2.LINE_AA)
    heart = np.clip(_colour(rng, palette) * 0.6 + np.array([0.4, 0.3, 0.0]), 0, 1)
    cv2.circle(canvas, (round(x), round(y)), max(1, round(radius * 0.3)), heart.tolist(), -1, cv2.LINE_AA)


def _dew(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, angle: float,
         palette: np.ndarray, scale: float) -> None:
    """A water drop or a speck of pollen: a small disc with a bright highlight."""
    height, width = alpha.shape
    x, y = round(rng.uniform(0, width)), round(rng.uniform(0, height))
    radius = max(1, round(rng.uniform(1, 8) * scale))
    body = _colour(rng, palette) * rng.uniform(0.5, 1.0)
    cv2.circle(canvas, (x, y), radius, body.tolist(), -1, cv2.LINE_AA)
    cv2.circle(alpha, (x, y), radius, 1.0, -1, cv2.LINE_AA)
    glint = (x - radius // 3, y - radius // 3)
    cv2.circle(canvas, glint, max(1, radius // 3), (1.0, 1.0, 1.0), -1, cv2.LINE_AA)


def _bokeh(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, angle: float,
           palette: np.ndarray, scale: float) -> None:
    """An out-of-focus highlight: a large soft disc."""
    height, width = alpha.shape
    x, y = round(rng.uniform(0, width)), round(rng.uniform(0, height))
    radius = max(2, round(rng.uniform(10, 60) * scale))
    colour = np.clip(_colour(rng, palette) + rng.uniform(0, 0.3), 0, 1)
    cv2.circle(canvas, (x, y), radius, colour.tolist(), -1, cv2.LINE_AA)
    cv2.circle(alpha, (x, y), radius, rng.uniform(0.3, 0.8), -1, cv2.LINE_AA)


def _grass(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, angle: float,
           palette: np.ndarray, scale: float) -> None:
    """A thin grass blade or seed stalk leaning with the others."""
    _blade(canvas, alpha, rng, angle, palette, scale, widths=(2, 14), spread=8)


_DRAW = {"blades": _blade, "stems": _stem, "petals": _petal, "dew": _dew, "bokeh": _bokeh, "grass": _grass}
_COUNTS = {"blades": (10, 80), "stems": (2, 20), "petals": (3, 40), "dew": (5, 150), "bokeh": (3, 25),
           "grass": (60, 260)}


def _sky(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A pale sky over the top of a backdrop, brightest at the horizon: the bright, low-contrast
    part of an outdoor photo that is not haze."""
    height = image.shape[0]
    horizon = rng.uniform(0.2, 0.7) * height
    hsv = np.array([[[rng.uniform(95, 115), rng.uniform(30, 160), rng.uniform(190, 255)]]], np.uint8)
    blue = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255
    rows = np.arange(height, dtype=np.float32)[:, None, None]
    sky = blue + (1 - blue) * 0.5 * np.clip(rows / horizon, 0, 1)  # paler towards the horizon
    edge = np.clip((horizon - rows) / (0.03 * height) + 0.5, 0, 1)
    return image * (1 - edge) + sky * edge


def scene(rng: np.random.Generator, height: int = 960, width: int = 1280, grass: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 RGB: a backdrop and 2-4 layers of shapes, far layers more out of focus.

    The nearest layer is in focus four times in five (a photo has something sharp in it);
    a little sensor noise is added as a camera would. With `grass`, every layer is dense thin
    grass leaning one way in bright, pale colours, often under a sky: a field of it looks like
    rain to a model that has not seen one clean, and its pale colours like haze.
    """
    palette = _palette(rng, int(rng.integers(3, 7)))
    if grass:
        palette = np.clip(palette * rng.uniform(0.4, 0.8) + rng.uniform(0.25, 0.55), 0, 1)
    image = _background(rng, height, width, palette)
    if grass and rng.random() < 0.6:
        image = _sky(rng, image)
    angle = rng.normal(0, 20) if rng.random() < 0.7 else rng.uniform(-90, 90)  # grass mostly stands upright
    layers = int(rng.integers(2, 5))
    for depth in range(layers):
        if grass:
            kind = "grass"
        else:  # the first (farthest) layer is always blades
            kind = LAYER_KINDS[int(rng.integers(len(LAYER_KINDS)))] if depth else "blades"
        canvas, alpha = np.zeros_like(image), np.zeros((height, width), np.float32)
        scale = (height / 960) * rng.uniform(0.5, 1.5) * (0.6 + 0.4 * depth / max(1, layers - 1))
        low, high = _COUNTS[kind]
        for _ in range(int(rng.integers(low, high + 1))):
            _DRAW[kind](canvas, alpha, rng, angle, palette, scale)
        nearest = depth == layers - 1
        sigma = 0.0 if nearest and rng.random() < 0.8 else rng.uniform(0.5, 8.0) * (layers - depth) / layers
        if sigma > 0.3:
            canvas, alpha = cv2.GaussianBlur(canvas, (0, 0), sigma), cv2.GaussianBlur(alpha, (0, 0), sigma)
        covered = np.clip(alpha, 0, 1)[..., None]
        # Premultiplied: canvas holds colour where alpha is 1; divide out the soft edges' coverage.
        colour = np.where(covered > 1e-3, canvas / np.maximum(covered, 1e-3), 0)
        image = image * (1 - covered) + np.clip(colour, 0, 1) * covered
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.7))  # lens softness: no perfectly sharp pixel
    image = image + rng.normal(0, rng.uniform(0.5, 2.0) / 255, image.shape).astype(np.float32)
    return np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)


def scenes(count: int, seed: int, height: int = 960, width: int = 1280, grass: float = 0.0) -> list[np.ndarray]:
    """`count` scenes, a `grass` share of them dense grass; scene i depends only on (seed, i, grass)."""
    def draw(index: int) -> np.ndarray:
        dense = grass > 0 and np.random.default_rng([seed, 104729, index]).random() < grass
        return scene(np.random.default_rng([seed, 7919, index]), height, width, grass=dense)
    return [draw(index) for index in range(count)]
