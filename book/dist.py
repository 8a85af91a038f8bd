"""Run ``torch.distributed`` worker scripts from a notebook or a test, robustly.

Launcher side (the notebook)::

    res = book.dist.launch("_dist_workers/hello.py", nproc=2, timeout=60)
    print(res.outputs[0])          # what rank 0 printed; res.outputs is sorted by rank

``launch`` runs ``python -m torch.distributed.run`` (= ``torchrun``) on one node with a c10d rendezvous
on a free local port (what ``--standalone`` does, with a port we know), sets ``OMP_NUM_THREADS=1``
(the ranks share the cores), tells the workers the ``init_process_group`` timeout through the environment
variable ``BOOK_DIST_TIMEOUT`` (seconds), bounds the whole job in wall-clock time, and stops a stuck job
with SIGTERM to torchrun's process group (torchrun then stops its workers; SIGKILL follows only after a
grace period, and also reaches the workers, which run in their own sessions). Every rank's stdout and
stderr go to its own log file (``--log-dir``/``--redirects 3``) and come back in a :class:`DistResult`.
A failed rank or a timeout raises :class:`DistError` (or :class:`DistTimeout`) saying which rank failed
and how, with the result attached as ``err.result``.

Worker side (the script)::

    rank, world = book.dist.init_worker()     # gloo (CPU tensors); timeout from BOOK_DIST_TIMEOUT
    rank, world = book.dist.init_worker("nccl")   # GPU scripts: one GPU per rank, cuda:LOCAL_RANK

Also here: :func:`ring_all_reduce`, a bandwidth-optimal chunked ring all-reduce written with
point-to-point sends (the chapter explains it and checks it against ``dist.all_reduce``).
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

TIMEOUT_ENV = "BOOK_DIST_TIMEOUT"
BACKEND_ENV = "BOOK_DIST_BACKEND"
ROOT = Path(__file__).resolve().parent.parent


class DistError(RuntimeError):
    """A distributed job failed; ``.result`` holds every rank's output and the exit code."""

    def __init__(self, message: str, result: "DistResult"):
        super().__init__(message)
        self.result = result


class DistTimeout(DistError):
    """A distributed job ran past its wall-clock limit and was stopped."""


@dataclass
class DistResult:
    returncode: int
    outputs: list[str]            # stdout of each rank, index = rank
    errors: list[str]             # stderr of each rank, index = rank
    launcher_log: str             # torchrun's own stdout+stderr
    elapsed: float                # seconds, wall clock, for the whole launch
    cmd: list[str] = field(default_factory=list)
    timed_out: bool = False
    failed: list[int] = field(default_factory=list)   # ranks that raised, first failure first

    def failed_ranks(self) -> list[int]:
        """Ranks whose stderr ends in a Python traceback, in the order they failed (root cause first).

        A crash makes its peers fail too (their collectives lose the connection), so several ranks
        may show a traceback; the first one written is the root cause.
        """
        return list(self.failed)

    def exception_line(self, rank: int) -> str:
        """The last line of ``rank``'s traceback (``ExcType: message``), without torch's rank prefix."""
        lines = [ln for ln in self.errors[rank].strip().splitlines() if ln.strip()]
        return lines[-1].replace(f"[rank{rank}]: ", "", 1).strip() if lines else ""


def free_port() -> int:
    """A TCP port that is free on this machine right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_command(script, nproc: int, port: int, args=(), run_id: str = "book",
                     log_dir: str | None = None) -> list[str]:
    """The ``torchrun`` command line ``launch`` uses (one node; c10d rendezvous on 127.0.0.1:port)."""
    cmd = [sys.executable, "-m", "torch.distributed.run",
           "--nnodes", "1", "--nproc-per-node", str(nproc),
           "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", run_id,
           "--max-restarts", "0"]
    if log_dir is not None:
        cmd += ["--log-dir", str(log_dir), "--redirects", "3"]
    return cmd + [str(script), *map(str, args)]


def _children_tree(pid: int) -> list[int]:
    """All descendants of ``pid`` (Linux /proc; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _signal_all(pids, sig) -> None:
    for pid in pids:
        for kill in (os.killpg, os.kill):   # the process group first (workers have their own)
            try:
                kill(pid, sig)
            except (ProcessLookupError, PermissionError, OSError):
                pass


def stop_job(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM torchrun's process group (torchrun then stops its workers); SIGKILL after ``grace`` s."""
    workers = _children_tree(proc.pid)
    _signal_all([proc.pid], signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    # whatever is left (torchrun ignoring SIGTERM, or workers it did not reach) is killed for good
    alive = [p for p in [proc.pid, *workers] if Path(f"/proc/{p}").exists()] if Path("/proc").is_dir() else [proc.pid]
    if alive:
        _signal_all(alive, signal.SIGKILL)
    proc.wait()


def _read_rank_logs(log_dir: Path, nproc: int) -> tuple[list[str], list[str], list[int]]:
    """Each rank's stdout and stderr, and the ranks that raised ordered by when their log was last written."""
    outs, errs, failed = [""] * nproc, [""] * nproc, []
    for rank in range(nproc):
        for name, store in (("stdout.log", outs), ("stderr.log", errs)):
            files = sorted(log_dir.glob(f"**/attempt_*/{rank}/{name}"))
            store[rank] = "".join(f.read_text(errors="replace") for f in files)
            if name == "stderr.log" and files and "Traceback (most recent call last)" in store[rank]:
                failed.append((max(f.stat().st_mtime_ns for f in files), rank))
    return outs, errs, [rank for _, rank in sorted(failed)]


def launch(script, nproc: int = 2, args=(), timeout: float = 120.0, init_timeout: float = 30.0,
           env: dict | None = None, cwd=None, check: bool = True, grace: float = 5.0) -> DistResult:
    """Run ``script`` on ``nproc`` local ranks under torchrun; at most ``timeout`` seconds in all.

    ``init_timeout`` reaches the workers as ``$BOOK_DIST_TIMEOUT`` (used by :func:`init_worker` for
    ``init_process_group``, which also bounds every collective). With ``check`` (default) a non-zero
    exit or a timeout raises :class:`DistError` / :class:`DistTimeout`; else the result is returned.
    """
    script = Path(script).resolve()
    if not script.is_file():
        raise FileNotFoundError(f"worker script {script} does not exist")
    full_env = dict(os.environ)
    full_env.update({
        "OMP_NUM_THREADS": "1",
        TIMEOUT_ENV: str(init_timeout),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        "PYTHONUNBUFFERED": "1",
        "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", "ignore"),
    })
    full_env.update(env or {})
    with tempfile.TemporaryDirectory(prefix="book_dist_") as tmp:
        tmp = Path(tmp)
        cmd = torchrun_command(script, nproc, free_port(), args, run_id=uuid.uuid4().hex[:12],
                               log_dir=tmp / "logs")
        t0 = time.perf_counter()
        timed_out = False
        with open(tmp / "launcher.log", "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=full_env, cwd=cwd, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                stop_job(proc, grace=grace)
            except BaseException:          # e.g. KeyboardInterrupt in the notebook: never leave orphans
                stop_job(proc, grace=grace)
                raise
        elapsed = time.perf_counter() - t0
        outs, errs, failed = _read_rank_logs(tmp / "logs", nproc)
        result = DistResult(proc.returncode, outs, errs, (tmp / "launcher.log").read_text(errors="replace"),
                            elapsed, cmd, timed_out, failed)
    if check and timed_out:
        raise DistTimeout(f"{script.name}: no result after {timeout:g} s; the job was stopped "
                          "(SIGTERM, then SIGKILL). Is a rank waiting for a peer that never comes?", result)
    if check and result.returncode != 0:
        if failed:
            detail = f"rank {failed[0]} raised {result.exception_line(failed[0])}"
        else:   # e.g. the rendezvous failed, or a worker was killed by a signal: torchrun's log says why
            tail = "\n".join(result.launcher_log.strip().splitlines()[-15:])
            detail = f"no rank left a traceback; the end of torchrun's log:\n{tail}"
        raise DistError(f"{script.name} failed (exit code {result.returncode}): {detail}", result)
    return result


# --------------------------------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------------------------------

def init_worker(backend: str | None = None) -> tuple[int, int]:
    """In a worker started by torchrun: join the process group; returns ``(rank, world_size)``.

    Backend: the argument, else ``$BOOK_DIST_BACKEND``, else gloo, which works with CPU tensors
    everywhere (the book's worker scripts use CPU tensors, so they run unchanged on GPU machines too).
    With NCCL (CUDA tensors only) the process is bound to GPU ``LOCAL_RANK``. The timeout comes from
    ``$BOOK_DIST_TIMEOUT`` (default 30 s), so that a rank whose peer died fails instead of waiting forever.
    """
    import torch
    import torch.distributed as dist

    backend = backend or os.environ.get(BACKEND_ENV) or "gloo"
    timeout = timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "30")))
    kwargs = {}
    if backend == "nccl":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        kwargs["device_id"] = torch.device("cuda", local_rank)
    dist.init_process_group(backend, timeout=timeout, **kwargs)
    # A script that ends without destroy_process_group() can abort at exit while the backend's threads
    # are torn down ("terminate called without an active exception"); make that impossible.
    atexit.register(_destroy_if_initialized)
    return dist.get_rank(), dist.get_world_size()


def _destroy_if_initialized() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def ring_all_reduce(tensor, group=None, stats: dict | None = None):
    """Sum ``tensor`` over all ranks in place with a chunked ring (reduce-scatter, then all-gather).

    The flat tensor is cut into N chunks. In N-1 reduce-scatter steps every rank sends one chunk to
    its right neighbour and adds the chunk coming from its left one; afterwards rank r owns the full
    sum of chunk (r+1) mod N. In N-1 all-gather steps the finished chunks travel once more around the
    ring. Each rank sends 2(N-1) chunks of S/N elements: 2(N-1)/N * S in all, whatever N is.
    ``stats`` (a dict), when given, receives ``sent`` (elements this rank sent) and ``steps``.
    """
    import torch
    import torch.distributed as dist

    rank, n = dist.get_rank(group), dist.get_world_size(group)
    if n == 1:
        return tensor
    flat = tensor.view(-1) if tensor.is_contiguous() else tensor.reshape(-1)
    chunks = list(flat.tensor_split(n))
    right = dist.get_global_rank(group, (rank + 1) % n) if group is not None else (rank + 1) % n
    left = dist.get_global_rank(group, (rank - 1) % n) if group is not None else (rank - 1) % n

    def exchange(send_idx, recv_idx):
        buf = torch.empty_like(chunks[recv_idx])
        if stats is not None:
            stats["sent"] = stats.get("sent", 0) + chunks[send_idx].numel()
            stats["steps"] = stats.get("steps", 0) + 1
        reqs = dist.batch_isend_irecv([dist.P2POp(dist.isend, chunks[send_idx].contiguous(), right, group),
                                       dist.P2POp(dist.irecv, buf, left, group)])
        for r in reqs:
            r.wait()
        return buf

    for step in range(n - 1):                       # reduce-scatter
        send_idx, recv_idx = (rank - step) % n, (rank - step - 1) % n
        chunks[recv_idx].add_(exchange(send_idx, recv_idx))
    for step in range(n - 1):                       # all-gather
        send_idx, recv_idx = (rank + 1 - step) % n, (rank - step) % n
        chunks[recv_idx].copy_(exchange(send_idx, recv_idx))
    if not tensor.is_contiguous():                  # reshape made a copy: write the sum back
        tensor.copy_(flat.view_as(tensor))
    return tensor
