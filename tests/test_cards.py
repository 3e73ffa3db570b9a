"""Model card front matter: written with ModelCardData, read back by huggingface_hub as the Hub reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from uhdrestore.cards import (BUNDLED_WEIGHTS_LICENSE, check_license, licence_fields, licence_section,
                              perceiver_card_data, restorer_card_data, with_front_matter)
from uhdrestore.hub import bundled_weights_dir

ROOT = Path(__file__).resolve().parents[1]


def test_restorer_front_matter_carries_licence_pipeline_tags_and_psnr_per_task():
    data = restorer_card_data(["rain", "rain+haze"], model_name="tiny", psnr={"rain": 30.5, "rain+haze": None},
                              dataset="uhdrestore validation crops")
    card = ModelCard(with_front_matter("# tiny\n", data))
    read = card.data
    assert read.library_name == "uhdrestore" and read.pipeline_tag == "image-to-image"
    # Trained weights follow their data's licence, which we cannot know: no licence claimed by default.
    assert (read.license, read.license_name, read.license_link) == ("other", "follows-training-data",
                                                                    "README.md#licence")
    assert read.tags == ["image-restoration", "all-in-one", "uhdrestore", "rain", "rain+haze"]
    [result] = read.eval_results  # the task without a score is left out, not written as 0
    assert (result.metric_type, result.metric_value, result.dataset_name) == ("psnr", 30.5,
                                                                              "uhdrestore validation crops")
    assert card.text.strip() == "# tiny"


def test_with_front_matter_replaces_an_old_block_and_keeps_the_body():
    old = "---\nlicense: other\ntags:\n- old\n---\n\n# body\n\nText.\n"
    new = with_front_matter(old, perceiver_card_data())
    assert new.endswith("# body\n\nText.\n") and new.count("---\n") == 2
    assert "license_name: follows-training-data" in new and "- old" not in new


def test_the_bundled_perceiver_card_has_front_matter_the_hub_reads():
    card = ModelCard.load(bundled_weights_dir() / "perceiver" / "README.md")
    assert card.data.library_name == "uhdrestore" and card.data.license == "other"
    assert "Licence of these weights" in card.text
    assert card.data.pipeline_tag == "image-classification"
    f1 = {(result.dataset_name, result.metric_name): result.metric_value for result in card.data.eval_results}
    # The figures in the front matter are the ones the card's own table states.
    assert f1[("uhdrestore validation list, our generators", "F1 rain")] == 0.76
    assert f1[("uhdrestore validation list, foreign recipes", "F1 snow")] == 0.59
    assert "| F1 ours: rain, haze, noise, blur, snow, lowlight | 0.76, 0.88, 0.99, 0.91, 0.87, 0.99 |" in card.text


def test_the_project_states_its_licence():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()


def test_the_default_card_states_the_weights_licence_and_psnr_per_task():
    """The bundled weights learned from research-only and GPL-2+ photos: not plain MIT like the code."""
    card = ModelCard.load(bundled_weights_dir() / "README.md")
    assert card.data.library_name == "uhdrestore" and card.data.pipeline_tag == "image-to-image"
    assert (card.data.license, card.data.license_name) == ("other", "uhdrestore-weights")
    assert "## Data and licences" in card.text and "Licence of these weights" in card.text
    psnr = {result.metric_name: result.metric_value for result in card.data.eval_results}
    assert set(psnr) == {f"PSNR {kind} (dB)" for kind in ("rain", "haze", "noise", "blur", "snow", "lowlight")}
    assert all(10 < value < 50 for value in psnr.values())


def test_a_licence_the_trainer_names_is_written_as_the_hub_spells_it():
    assert licence_fields("CC-BY-4.0") == {"license": "cc-by-4.0"}
    assert licence_fields(None) == {"license": "other", "license_name": "follows-training-data",
                                    "license_link": "README.md#licence"}
    read = ModelCard(with_front_matter("# m\n", restorer_card_data(["rain"], **licence_fields("MIT")))).data
    assert (read.license, read.license_name) == ("mit", None)
    bundled = ModelCard(with_front_matter("# m\n", perceiver_card_data(**BUNDLED_WEIGHTS_LICENSE))).data
    assert (bundled.license, bundled.license_name) == ("other", "uhdrestore-weights")


@pytest.mark.parametrize("bad", ["MIT License", "", "cc by", "-mit", "mit/apache"])
def test_a_licence_that_is_not_an_spdx_id_is_refused(bad):
    with pytest.raises(ValueError, match="expected an SPDX id"):
        check_license(bad)


def test_the_licence_section_says_the_weights_follow_their_data_and_how_to_name_one():
    unnamed = "\n".join(licence_section(how_to_set="pass --license"))
    assert unnamed.startswith("## Licence\n") and "`license: other`" in unnamed
    assert "To name one, pass --license." in unnamed
    named = "\n".join(licence_section("Apache-2.0", how_to_set="pass --license"))
    assert "under `apache-2.0`" in named and "only if those photos allow it" in named and "--license" not in named
