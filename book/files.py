"""Writing files so that a crash never leaves half of one: the one home for atomic writes and for
removing the temporaries that a killed process left behind (used by data, caches, checkpoints, results
and the CUDA compile cache).

A temporary is named ``.<name>.<pid>.<random>.tmp`` in the folder of its target, so ``os.replace`` is
atomic (same file system), two writers never share one, and :func:`remove_stale_temps` can tell a
temporary of a dead process (safe to delete) from one that a live process is still writing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

_IMPORTED = time.time()  # a temporary of this pid older than this is a predecessor's (pid reused)
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def temp_path_for(target: str | os.PathLike) -> Path:
    """A unique temporary path beside ``target`` (same folder, so the final rename is atomic)."""
    target = Path(target)
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write (a file or a folder); on success it replaces ``target`` in one
    step, on any exception it is removed and ``target`` is left as it was.

    >>> with atomic_path("model.pt") as tmp:   # doctest: +SKIP
    ...     torch.save(state, tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        _remove(tmp)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (all or nothing) and return ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``target`` atomically (all or nothing) and return ``target``."""
    return write_bytes_atomic(target, text.encode("utf-8"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _writer_gone(p: Path, pid: int) -> bool:
    if pid == os.getpid():  # a restarted kernel in a container often gets its predecessor's pid
        try:
            return p.lstat().st_mtime < _IMPORTED - 1
        except FileNotFoundError:
            return False
    return not _pid_alive(pid)


def stale_temps(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Temporaries in ``folder`` (of target ``name``, or of any target) whose writer process is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for p in sorted(folder.iterdir()):
        m = _TEMP_RE.match(p.name)
        if m and (name is None or m["name"] == name) and _writer_gone(p, int(m["pid"])):
            found.append(p)
    return found


def remove_stale_temps(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete the temporaries that :func:`stale_temps` finds and return them (nothing else is touched)."""
    found = stale_temps(folder, name)
    for p in found:
        _remove(p)
    return found


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)
