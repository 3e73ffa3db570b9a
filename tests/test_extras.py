"""Optional extras: restoring needs no [train] package; training without it fails in one line naming the fix."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
import typer

from uhdrestore.errors import MissingExtraError
from uhdrestore.extras import EXTRAS, require_extra

REPO = Path(__file__).resolve().parents[1]
# Run first in a child process: every import of a [train] module fails there, as if it were not installed.
BLOCK_TRAIN = f"import sys\nfor name in {EXTRAS['train']!r}:\n    sys.modules[name] = None\n"


def run_without_train_extra(script: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name != "UHDRESTORE_DEBUG"}
    return subprocess.run([sys.executable, "-c", BLOCK_TRAIN + script], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=environment)


def test_restoring_imports_neither_matplotlib_nor_torchmetrics(tmp_path: Path) -> None:
    """fix, batch, inspect, models, env and the Python API, with the [train] modules unimportable."""
    script = f"""
import cv2, numpy as np
from typer.testing import CliRunner
from tests.conftest import synthetic_photo
from uhdrestore import Restorer
from uhdrestore.cli import app

folder = {str(tmp_path)!r}
photo = synthetic_photo(48, 64)
assert cv2.imwrite(folder + "/photo.png", (photo[..., ::-1] * 255).round().astype(np.uint8))
restored = Restorer.from_pretrained("default", device="cpu")(photo)
assert restored.shape == photo.shape and not np.array_equal(restored, photo)
for args in (["fix", folder + "/photo.png", "--device", "cpu", "--compare", folder + "/compare.png"],
             ["batch", folder, "-o", folder + "_out", "--device", "cpu"], ["inspect", folder],
             ["models"], ["env"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
assert cv2.imread(folder + "/photo_restored.png") is not None
print("ok")
"""
    done = run_without_train_extra(script)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr
    assert (tmp_path.parent / f"{tmp_path.name}_out" / "photo.png").is_file()


def test_train_without_the_extra_says_which_pip_command_fixes_it(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    script = f"""
from uhdrestore.cli import app
app(["train", "--smoke", "--stages", "rain", "--clean", {str(tmp_path / "photos")!r},
     "--run-dir", {str(tmp_path / "run")!r}, "--device", "cpu"])
"""
    done = run_without_train_extra(script)
    assert done.returncode == 1 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: training needs torchmetrics, which is not installed: pip install")
    assert not (tmp_path / "run").exists()  # refused before the run folder was made


def test_the_cli_prints_the_pip_command_as_it_is() -> None:
    from rich.console import Console

    from uhdrestore.cli.common import errors

    output = io.StringIO()
    with pytest.raises(typer.Exit), errors(Console(file=output, width=200)):
        raise MissingExtraError("training", module="torchmetrics", extra="train")
    assert output.getvalue() == "error: training needs torchmetrics, which is not installed: " \
                                "pip install 'uhdrestore[train]'\n"


def test_ssim_and_the_plot_name_the_missing_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from uhdrestore.metrics import ssim
    from uhdrestore.train.report import plot_validation

    monkeypatch.setitem(sys.modules, "torchmetrics", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"SSIM needs torchmetrics.*pip install 'uhdrestore\[train\]'"):
        ssim(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))
    with pytest.raises(MissingExtraError, match="the validation plot needs matplotlib") as raised:
        plot_validation(tmp_path / "metrics.jsonl", tmp_path / "validation.png")
    assert isinstance(raised.value, ImportError)  # callers may catch either
    assert (raised.value.exit_code, raised.value.extra, raised.value.name) == (1, "train", "matplotlib")


def test_require_extra_passes_when_the_extra_is_installed() -> None:
    require_extra("train", "training")  # make install installs [test,train]


def test_the_extras_table_names_what_pyproject_installs() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~;\[ ]", requirement)[0] for requirement in project["optional-dependencies"]["train"]}
    assert names == set(EXTRAS["train"])  # (package names equal module names for these)
    assert not {re.split(r"[<>=!~;\[ ]", requirement)[0] for requirement in project["dependencies"]} & names
