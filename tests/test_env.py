"""`uhdrestore env` (what a bug report needs) and `degrade -q`."""

from __future__ import annotations

import json

import numpy as np
import torch

from tests.test_cli import invoke
from uhdrestore import __version__
from uhdrestore.hub import load_model
from uhdrestore.io import Image, write_image


def test_env_names_versions_and_the_hash_of_the_model_fix_uses():
    result = invoke("env", "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["uhdrestore"] == __version__ and facts["packages"]["torch"] == torch.__version__
    assert facts["bundled"]["default_sha256"] == load_model("default").sha256
    assert len(facts["bundled"]["perceiver_sha256"]) == 64
    assert facts["devices"]["cuda"] == [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    plain = invoke("env")
    assert plain.exit_code == 0 and f"uhdrestore: {__version__}" in plain.stdout.splitlines()


def test_degrade_quiet_prints_nothing_and_still_writes(tmp_path):
    source = tmp_path / "clean.png"
    write_image(source, Image(rgb=np.full((32, 48, 3), 128, np.uint8), alpha=None))
    result = invoke("degrade", source, "--kind", "noise", "-q")
    assert result.exit_code == 0 and result.stdout == ""
    assert (tmp_path / "clean_noise.png").is_file()
