"""Model card front matter built with huggingface_hub's `ModelCardData`, not hand-written YAML.

The Hub reads a card's front matter for its filters and widgets (license, library_name,
pipeline_tag, tags, datasets) and its `model-index` for evaluation results; writing it
through `ModelCardData` keeps the keys and the model-index layout the Hub expects.

To (re)write the front matter of an existing card, keeping its body:

    from uhdrestore.cards import restorer_card_data, with_front_matter
    text = Path("weights/README.md").read_text()
    data = restorer_card_data(["rain", "haze"], model_name="uhdrestore default (v5)",
                              psnr={"rain": 30.1}, dataset="uhdrestore validation list")
    Path("weights/README.md").write_text(with_front_matter(text, data))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["BUNDLED_WEIGHTS_LICENSE", "TRAINED_WEIGHTS_LICENSE", "card_data", "check_license", "front_matter",
           "licence_fields", "licence_section", "perceiver_card_data", "restorer_card_data", "with_front_matter"]

# The code is MIT (LICENSE), but weights are not code: their licence follows the photos they learned from.
# The bundled weights learned from photos under research-only terms (ImageNet samples) and GPL-2+
# (Debian wallpapers): the Hub's "other", pointing at the card section that says what that means.
BUNDLED_WEIGHTS_LICENSE = {"license": "other", "license_name": "uhdrestore-weights",
                           "license_link": "README.md#data-and-licences"}
# Weights a user trains: we cannot know their photos' terms, so a card claims no licence ("other", pointing
# at its Licence section) until the trainer names one (`uhdrestore train --license SPDX`).
TRAINED_WEIGHTS_LICENSE = {"license": "other", "license_name": "follows-training-data",
                           "license_link": "README.md#licence"}
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n+", re.DOTALL)
_LICENSE_ID = re.compile(r"[a-z0-9][a-z0-9.+-]*")  # the Hub's ids: SPDX, lower-cased (mit, cc-by-4.0, apache-2.0)


def check_license(spdx: str) -> str:
    """An SPDX id as the Hub spells it (lower case: `CC-BY-4.0` -> `cc-by-4.0`). Raises ValueError."""
    license_id = spdx.strip().lower()
    if not _LICENSE_ID.fullmatch(license_id):
        raise ValueError(f"license: expected an SPDX id such as cc-by-4.0, mit or apache-2.0. Got {spdx!r}")
    return license_id


def licence_fields(spdx: str | None = None) -> dict[str, str]:
    """Front-matter licence keys of trained weights: the id their trainer gave, else TRAINED_WEIGHTS_LICENSE."""
    return {"license": check_license(spdx)} if spdx else dict(TRAINED_WEIGHTS_LICENSE)


def licence_section(spdx: str | None = None, *, how_to_set: str) -> list[str]:
    """The card's `## Licence` section (Markdown lines): what the weights' licence is and how it was set.

    `how_to_set` tells the reader how to name one (an option, or editing the front matter)."""
    if spdx:
        stated = (f"The weights are under `{check_license(spdx)}`, as whoever trained them stated. Their "
                  "licence follows the training data's: it holds only if those photos allow it.")
    else:
        stated = ("No licence is stated for these weights (front matter `license: other`). A model's licence "
                  "follows its training data's: it may be shared only as the photos it learned from allow. "
                  f"To name one, {how_to_set}.")
    return ["## Licence", "", stated, "", "The uhdrestore code that runs them is MIT."]


def card_data(*, pipeline_tag: str, tags: Sequence[str], model_name: str | None = None,
              eval_results: Sequence[Any] = (), **extra: Any) -> Any:
    """A `ModelCardData` for a uhdrestore model: library_name uhdrestore, the given tags.

    Pass the licence keys in `extra` (`**licence_fields(spdx)`, `**BUNDLED_WEIGHTS_LICENSE`); without
    a `license` the card claims none (TRAINED_WEIGHTS_LICENSE)."""
    from huggingface_hub import ModelCardData

    fields = extra if "license" in extra else {**TRAINED_WEIGHTS_LICENSE, **extra}
    return ModelCardData(library_name="uhdrestore", pipeline_tag=pipeline_tag,
                         tags=list(dict.fromkeys(tags)), model_name=model_name if eval_results else None,
                         eval_results=list(eval_results) or None, **fields)


def front_matter(data: Any) -> str:
    """The `---` YAML block that opens README.md, from a `ModelCardData`."""
    return f"---\n{data.to_yaml()}\n---\n\n"


def with_front_matter(card: str, data: Any) -> str:
    """`card` with its front matter (if any) replaced by `data`'s; the body is kept as it is."""
    return front_matter(data) + _FRONT_MATTER.sub("", card, count=1)


def _eval_result(task_type: str, dataset: str, metric: str, name: str, value: float) -> Any:
    from huggingface_hub import EvalResult

    return EvalResult(task_type=task_type, dataset_type=re.sub(r"[^\w.-]+", "-", dataset.lower()).strip("-"),
                      dataset_name=dataset, metric_type=metric, metric_name=name, metric_value=round(value, 4))


def restorer_card_data(tasks: Sequence[str], *, model_name: str | None = None,
                       psnr: Mapping[str, float | None] | None = None, dataset: str = "",
                       **licence: str) -> Any:
    """Front matter for a restorer: image-to-image, one tag per task, validation PSNR per task."""
    results = [_eval_result("image-to-image", dataset, "psnr", f"PSNR {task} (dB)", value)
               for task, value in (psnr or {}).items() if value is not None and dataset]
    return card_data(pipeline_tag="image-to-image", tags=["image-restoration", "all-in-one", "uhdrestore", *tasks],
                     model_name=model_name or "uhdrestore restorer", eval_results=results, **licence)


def perceiver_card_data(*, model_name: str = "uhdrestore degradation perceiver",
                        f1: Mapping[str, Mapping[str, float]] | None = None, **licence: str) -> Any:
    """Front matter for the perceiver: multi-label image classification; F1 per kind on each dataset."""
    results = [_eval_result("image-classification", dataset, "f1", f"F1 {kind}", value)
               for dataset, scores in (f1 or {}).items() for kind, value in scores.items()]
    return card_data(pipeline_tag="image-classification",
                     tags=["image-quality-assessment", "degradation-detection", "uhdrestore"],
                     model_name=model_name, eval_results=results, **licence)
