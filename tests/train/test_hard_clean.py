"""recipes/hard_clean.py: the list it writes names training photos only, in the --hard-clean format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.train.test_data import write_photos
from uhdrestore.train.data import read_holdout_list

SCRIPT = Path(__file__).resolve().parents[2] / "recipes" / "hard_clean.py"


def test_the_list_names_training_photos_under_the_threshold_and_never_a_validation_photo(tmp_path):
    clean = write_photos(tmp_path / "clean", count=3, size=(64, 96))
    holdout = tmp_path / "holdout.tsv"
    holdout.write_text("path\tgroup\nphoto2.png\tnature\n")
    out = tmp_path / "hard.tsv"
    common = [sys.executable, str(SCRIPT), str(out), "--clean", str(clean), "--holdout-list", str(holdout)]
    subprocess.run([*common, "--under", "200"], check=True, capture_output=True)  # no photo comes back at 200 dB
    assert sorted(read_holdout_list(out)) == ["photo0.png", "photo1.png"]
    subprocess.run([*common, "--under", "0"], check=True, capture_output=True)
    assert "0 of 2 training photos" in out.read_text()
