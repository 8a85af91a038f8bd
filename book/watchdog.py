"""The watchdog of :func:`book.dist.launch`: a distributed job never outlives the process that started it.

Run as a script (``python -I book/watchdog.py LAUNCHER_PID JOB_PID GRACE_S FOLDER``), it polls every
0.2 s:

* the launcher died (a notebook kernel restart, the OOM killer): SIGTERM to the job (torchrun), then
  SIGKILL after ``GRACE_S`` seconds to the job and every process it ever started, then it removes the
  job's ``FOLDER``;
* the job (torchrun) ended: any worker it left behind is stopped (SIGTERM, then SIGKILL).

Standard library only, and no import of ``book`` (it starts in ~20 ms, and runs by its path where the
book is not installed). :mod:`book.dist` uses the same process-tree helpers (Linux ``/proc``; elsewhere
the tree is empty and only the job itself is signalled).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path

POLL_S = 0.2


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children_tree(pid: int) -> list[int]:
    """Every descendant of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    parents: dict[int, list[int]] = {}
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def signal_all(pids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to each process's group (workers run in their own) and to the process itself."""
    for pid in pids:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, sig)
            except OSError:  # gone already, or not ours
                pass


def watch(launcher: int, job: int, grace: float, folder: str) -> None:
    """Poll until the job ends (then stop its leftovers) or the launcher dies (then stop everything)."""
    seen: set[int] = set()
    while True:
        if alive(job):
            seen.update(children_tree(job))
        if os.getppid() != launcher:  # the launcher died: end the whole job
            signal_all([job], signal.SIGTERM)
            end = time.monotonic() + grace
            while time.monotonic() < end and (alive(job) or any(alive(p) for p in seen)):
                seen.update(children_tree(job) if alive(job) else [])
                time.sleep(POLL_S / 2)
            signal_all([p for p in [job, *seen] if alive(p)], signal.SIGKILL)
            shutil.rmtree(folder, ignore_errors=True)
            return
        if not alive(job):  # torchrun ended: no worker may outlive it
            left = [p for p in seen if alive(p)]
            if left:
                signal_all(left, signal.SIGTERM)
                time.sleep(min(grace, 1.0))
                signal_all([p for p in left if alive(p)], signal.SIGKILL)
            return
        time.sleep(POLL_S)


def main(argv: list[str]) -> int:
    """``LAUNCHER_PID JOB_PID GRACE_S FOLDER`` (what :func:`book.dist.launch` passes)."""
    launcher, job, grace, folder = int(argv[0]), int(argv[1]), float(argv[2]), argv[3]
    watch(launcher, job, grace, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
