"""book.files: atomic writes leave the old file or the new one, never half of one; temporaries of
dead writers (and of a predecessor that had this process's pid) are found, live ones are not."""

import os
import time

import pytest

from book import files


def test_atomic_path_replaces_on_success_and_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "a.txt"
    files.write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), files.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_stale_temps_tells_dead_writers_from_live_ones(tmp_path):
    live = tmp_path / f".a.pt.{os.getpid()}.0123abcd.tmp"
    live.write_text("x")
    dead = tmp_path / ".a.pt.999999999.0123abcd.tmp"
    dead.write_text("x")
    assert files.stale_temps(tmp_path) == [dead]
    old = time.time() - 3600  # same pid, but written before this process started: a predecessor's
    os.utime(live, (old, old))
    assert set(files.remove_stale_temps(tmp_path, "a.pt")) == {dead, live}
    assert not live.exists() and not dead.exists()
