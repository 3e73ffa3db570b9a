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


def test_temporary_names_are_recognisably_ours_and_tagged_with_the_process(tmp_path):
    import os

    from uhdrestore.atomic import is_partial

    with atomic_path(tmp_path / "photo.png", suffix=".png") as temporary:
        assert temporary.name.startswith(".photo.png.") and f".{os.getpid()}-" in temporary.name
        assert is_partial(temporary) and temporary.suffix == ".png"
        temporary.write_bytes(b"done")
    assert not is_partial(tmp_path / "photo.png") and not is_partial(tmp_path / ".hidden.png")
    assert is_partial(tmp_path / ".img_11.0123456789ab.png")  # the name versions <= 0.3.0 used


def test_stale_partials_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    import os
    import subprocess
    import sys

    from uhdrestore.atomic import remove_stale_partials

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid is now free (reuse within the test is vanishingly unlikely)
    (tmp_path / "sub").mkdir()
    stale = [tmp_path / f".a.png.{child.pid}-0123abcd.uhdrestore-partial.png",
             tmp_path / "sub" / f".b.tif.{child.pid}-89abcdef.uhdrestore-partial.tif"]
    live = tmp_path / f".c.png.{os.getppid()}-0123abcd.uhdrestore-partial.png"
    other = tmp_path / ".d.0123456789ab.png"  # an old-style name: maybe ours, maybe not: kept
    for path in [*stale, live, other]:
        path.write_bytes(b"partial")
    assert remove_stale_partials(tmp_path) == 1 and not stale[0].exists() and stale[1].exists()
    assert remove_stale_partials(tmp_path, recursive=True) == 1 and not stale[1].exists()
    assert live.exists() and other.exists()


def test_check_folder_writable_leaves_nothing(tmp_path):
    from uhdrestore.atomic import check_folder_writable

    check_folder_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match="cannot write into"):
        check_folder_writable(tmp_path / "missing")
