from __future__ import annotations

import pytest

from uhdrestore.atomic import atomic_path
from uhdrestore.errors import OutputError


def test_success_replaces_the_target_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "result.png"
    target.write_bytes(b"old")
    with atomic_path(target, suffix=".png") as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".png" and temporary != target
        temporary.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until the block succeeds
    assert target.read_bytes() == b"new" and list(tmp_path.iterdir()) == [target]


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        with atomic_path(tmp_path / "nope" / "x.png"):
            pass
