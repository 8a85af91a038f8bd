"""Run ``torch.distributed`` worker scripts from a notebook or a test, robustly (chapter 07).

Launcher side (the notebook)::

    res = book.dist.launch(book.dist.worker_path("ddp"), nproc=2, timeout=60)
    print(res.outputs[0])          # what rank 0 printed; res.outputs is sorted by rank

``launch`` runs ``python -m torch.distributed.run`` (= ``torchrun``) on one node with a c10d rendezvous
on a free local port (what ``--standalone`` does, with a port we know), sets ``OMP_NUM_THREADS=1``
(the ranks share the cores), tells the workers the ``init_process_group`` timeout through the environment
variable ``BOOK_DIST_TIMEOUT`` (seconds), bounds the whole job in wall-clock time, and stops a stuck job
with SIGTERM to torchrun's process group (torchrun then stops its workers; SIGKILL follows only after a
grace period, and also reaches the workers, which run in their own sessions). Every rank's stdout and
stderr go to its own log file (``--log-dir``/``--redirects 3``) and come back in a :class:`DistResult`.
A failed rank or a timeout raises :class:`DistError` (or :class:`DistTimeout`) saying which rank failed
and how (torchrun's root cause: a rank killed by a signal is named, not the peer that lost its
connection), with the result attached as ``err.result``.

The job never outlives the process that launched it: torchrun gets ``PR_SET_PDEATHSIG`` (Linux), and a
small watchdog process (:mod:`book.watchdog`, run by its path) stops torchrun and every worker, and
removes the job's folder, when the launcher dies (a notebook kernel restart, the OOM killer) or when
torchrun dies and leaves workers behind. Job folders live under ``book.paths.scratch_dir("dist_runs")``; one left by a watchdog that was killed too is
removed by the next ``launch``.

Worker side (the script)::

    rank, world = book.dist.init_worker()     # gloo (CPU tensors); timeout from BOOK_DIST_TIMEOUT
    rank, world = book.dist.init_worker("nccl")   # GPU scripts: one GPU per rank, cuda:LOCAL_RANK

Also here: :func:`ring_all_reduce`, a bandwidth-optimal chunked ring all-reduce written with
point-to-point sends (the chapter explains it and checks it against ``dist.all_reduce``).
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from .source import SourceCode
from .watchdog import children_tree, signal_all

if TYPE_CHECKING:
    import torch

TIMEOUT_ENV = "BOOK_DIST_TIMEOUT"
BACKEND_ENV = "BOOK_DIST_BACKEND"
WORKERS_DIR = Path(__file__).resolve().parent / "dist_workers"
"""The book's own worker scripts (real files: the chapter shows and runs them, the tests run them)."""
RUN_PREFIX = "book_dist_"
WATCHDOG_SCRIPT = Path(__file__).resolve().parent / "watchdog.py"
"""Run by its path beside every job (:mod:`book.watchdog`): stops the job when the launcher dies."""


class DistError(RuntimeError):
    """A distributed job failed; ``.result`` holds every rank's output and the exit code (chapter 07)."""

    def __init__(self, message: str, result: DistResult):
        super().__init__(message)
        self.result = result


class DistTimeout(DistError):
    """A distributed job ran past its wall-clock limit and was stopped (chapter 07)."""


class PortInUseError(RuntimeError):
    """The rendezvous port is taken by another program; the message says what to do (chapter 07)."""


@dataclass
class DistResult:
    """Everything a finished (or stopped) job left: outputs per rank, torchrun's log, timing (chapter 07)."""

    returncode: int
    outputs: list[str]  # stdout of each rank, index = rank
    errors: list[str]  # stderr of each rank, index = rank
    launcher_log: str  # torchrun's own stdout+stderr
    elapsed: float  # seconds, wall clock, for the whole launch
    cmd: list[str] = field(default_factory=list)
    timed_out: bool = False
    failed: list[int] = field(default_factory=list)  # failed ranks, root cause first
    exit_codes: dict[int, int] = field(default_factory=dict)  # torchrun's report: rank -> exit code

    def failed_ranks(self) -> list[int]:
        """The ranks that failed, root cause first (chapter 07).

        A crash makes its peers fail too (their collectives lose the connection), so several ranks may
        show a traceback. The root cause is a rank that torchrun saw die from a signal other than the
        SIGTERM it sends to the survivors, else the rank whose traceback was written first.
        """
        return list(self.failed)

    def exception_line(self, rank: int) -> str:
        """The last line of ``rank``'s traceback (``ExcType: message``), without torch's rank prefix."""
        lines = [ln for ln in self.errors[rank].strip().splitlines() if ln.strip()]
        return lines[-1].replace(f"[rank{rank}]: ", "", 1).strip() if lines else ""


def worker_path(name: str) -> Path:
    """The book's worker script ``book/dist_workers/<name>.py`` (chapter 07 shows and runs it)."""
    path = WORKERS_DIR / (name if name.endswith(".py") else f"{name}.py")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in WORKERS_DIR.glob("*.py") if not p.stem.startswith("_")))
        raise FileNotFoundError(f"no worker script {path.name} in {WORKERS_DIR}; the book's workers: {known}")
    return path


def show_worker(name: str) -> SourceCode:
    """Display the worker script ``name`` highlighted, like ``book.show_source`` (chapter 07)."""
    return SourceCode(worker_path(name).read_text(encoding="utf-8").strip("\n"), "python")


def free_port() -> int:
    """A TCP port that is free on this machine right now; the OS picks it (chapter 07)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_table(port: int) -> set[str] | None:
    """The TCP states of the sockets on ``port`` in the kernel's tables (Linux ``/proc/net/tcp*``; None
    elsewhere). ``0A`` = listening, ``06`` = TIME_WAIT (a closed connection); a socket that is only
    bound is in no table."""
    states, seen = set(), False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        seen = True
        for row in rows:
            cols = row.split()
            if len(cols) >= 4 and int(cols[1].rsplit(":", 1)[1], 16) == port:
                states.add(cols[3])
    return states if seen else None


def check_port(port: int) -> None:
    """Raise :class:`PortInUseError` if ``port`` is taken: torchrun would wait for it (chapter 07).

    Taken: a program listens on it (even one that never accepts or answers), or has bound it without
    listening (also with ``SO_REUSEADDR``). Every probe is bounded: the kernel's socket table, a
    connect with a 1 s timeout, and a bind without ``SO_REUSEADDR`` (which any other binding blocks;
    connections in TIME_WAIT alone do not count, as torchrun can reuse their port).
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValueError(f"port={port!r}: use a TCP port number 1..65535, or port=None to pick a free one")
    taken = _probe_port(port)
    if taken is not None:
        raise PortInUseError(
            f"port {port} is already in use ({taken}); torchrun's rendezvous would wait for it until "
            "its timeout. Pass port=None to let launch pick a free port, or stop the other job "
            f"(e.g. `ss -ltnp | grep :{port}` shows which process holds it)."
        )


def _probe_port(port: int) -> str | None:
    """None if ``port`` is free, else how it is held."""
    table = _port_table(port)
    if table is not None and "0A" in table:
        return "a program is listening on it"
    if table is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return "a program is listening on it"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("", port))  # no SO_REUSEADDR: any other socket bound to the port blocks this
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            if table is not None and table and table <= {"06"}:
                return None  # only closed connections waiting out TIME_WAIT
            return "a program has bound it" + (" without listening" if table is not None else "")
    return None


def torchrun_command(
    script: str | os.PathLike,
    nproc: int,
    port: int,
    args: Sequence = (),
    run_id: str = "book",
    log_dir: str | os.PathLike | None = None,
) -> list[str]:
    """The ``torchrun`` command ``launch`` runs: one node, c10d rendezvous on 127.0.0.1:port (ch. 07)."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc-per-node",
        str(nproc),
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        f"127.0.0.1:{port}",
        "--rdzv-id",
        run_id,
        "--max-restarts",
        "0",
    ]
    if log_dir is not None:
        cmd += ["--log-dir", str(log_dir), "--redirects", "3"]
    return cmd + [str(script), *map(str, args)]


def stop_job(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM torchrun's group (it stops its workers), SIGKILL after ``grace`` s (chapter 07)."""
    workers = children_tree(proc.pid)
    signal_all([proc.pid], signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    # whatever is left (torchrun ignoring SIGTERM, or workers it did not reach) is killed for good
    if Path("/proc").is_dir():
        alive = [p for p in [proc.pid, *workers] if Path(f"/proc/{p}").exists()]
    else:
        alive = [proc.pid]
    if alive:
        signal_all(alive, signal.SIGKILL)
    proc.wait()


# Runs torchrun in place of itself after asking the kernel for SIGTERM when the launcher dies (Linux
# PR_SET_PDEATHSIG = 1). An exec wrapper, not a preexec_fn: preexec_fn is unsafe in a threaded kernel.
_PDEATHSIG_EXEC = """\
import os, signal, sys
try:
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit("book.dist: the launcher died before torchrun started")
os.execv(sys.argv[2], sys.argv[2:])
"""


def _lock_folder(folder: Path):
    """Hold an exclusive ``flock`` on ``folder/.lock`` while the job runs (released if we die)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: stale folders are then only removed by hand
        return None
    fd = os.open(folder / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def clean_stale_runs() -> list[Path]:
    """Remove job folders whose launcher is gone (its lock is free); return what was removed (ch. 07)."""
    try:
        import fcntl
    except ImportError:
        return []
    removed = []
    for folder in sorted(paths.scratch_dir("dist_runs").glob(RUN_PREFIX + "*")):
        try:
            fd = os.open(folder / ".lock", os.O_RDWR)
        except FileNotFoundError:  # killed between mkdir and the lock: old enough to be stale?
            if time.time() - folder.stat().st_mtime > 60:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a running job holds it
            os.close(fd)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)
        removed.append(folder)
    return removed


_FAILURE_RE = re.compile(r"rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)", re.S)


def torchrun_failures(launcher_log: str) -> tuple[int | None, dict[int, int]]:
    """From torchrun's error report: ``(root-cause rank or None, {rank: exit code})`` (chapter 07)."""
    codes: dict[int, int] = {}
    root = None
    head, sep, tail = launcher_log.rpartition("Root Cause (first observed failure):")
    if not sep:
        return None, codes
    failures = head.rpartition("Failures:")[2]
    for block in re.split(r"\n\[\d+\]:", failures)[1:]:
        m = _FAILURE_RE.search(block)
        if m:
            codes[int(m.group(1))] = int(m.group(2))
    m = _FAILURE_RE.search(tail.split("=" * 10)[0])
    if m:
        root = int(m.group(1))
        codes[root] = int(m.group(2))
    # torchrun SIGTERMs the survivors; if its "first observed" is one of those, a rank that died from
    # another signal (SIGKILL by the OOM killer, SIGSEGV) is the real root cause
    killed = [r for r, c in sorted(codes.items()) if c < 0 and c != -signal.SIGTERM]
    if killed and (root is None or codes.get(root) == -signal.SIGTERM):
        root = killed[0]
    return root, codes


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


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


def launch(
    script: str | os.PathLike,
    nproc: int = 2,
    args: Sequence = (),
    timeout: float = 120.0,
    init_timeout: float = 30.0,
    env: dict | None = None,
    cwd: str | os.PathLike | None = None,
    check: bool = True,
    grace: float = 5.0,
    port: int | None = None,
) -> DistResult:
    """Run ``script`` on ``nproc`` local ranks under torchrun; at most ``timeout`` seconds in all (ch. 07).

    ``init_timeout`` reaches the workers as ``$BOOK_DIST_TIMEOUT`` (used by :func:`init_worker` for
    ``init_process_group``, which also bounds every collective). ``port`` (default: a free one) is the
    rendezvous port; a taken port raises :class:`PortInUseError` at once. With ``check`` (default) a
    non-zero exit or a timeout raises :class:`DistError` / :class:`DistTimeout`; else the result is
    returned.
    """
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc={nproc!r}: the number of ranks must be an integer >= 1 (e.g. nproc=2)")
    if not timeout > 0 or not grace >= 0 or not init_timeout > 0:
        raise ValueError(
            f"timeout={timeout!r}, init_timeout={init_timeout!r}, grace={grace!r}: "
            "timeouts must be positive numbers of seconds (grace may be 0)"
        )
    script = Path(script).resolve()
    if not script.is_file():
        raise FileNotFoundError(f"worker script {script} does not exist")
    if port is None:
        port = free_port()
    check_port(port)
    full_env = dict(os.environ)
    full_env.update(
        {
            "OMP_NUM_THREADS": "1",
            TIMEOUT_ENV: str(init_timeout),
            # workers import `book` also where it is not pip-installed (e.g. Colab's set-up cell)
            "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.ROOT), os.environ.get("PYTHONPATH", "")])),
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", "ignore"),
        }
    )
    full_env.update(env or {})
    clean_stale_runs()
    run_id = uuid.uuid4().hex[:12]
    tmp = paths.scratch_dir("dist_runs") / f"{RUN_PREFIX}{os.getpid()}_{run_id}"
    tmp.mkdir()
    lock_fd = _lock_folder(tmp)
    watchdog = None
    try:
        cmd = torchrun_command(script, nproc, port, args, run_id=run_id, log_dir=tmp / "logs")
        t0 = time.perf_counter()
        timed_out = False
        with open(tmp / "launcher.log", "wb") as log:
            wrapped = [sys.executable, "-c", _PDEATHSIG_EXEC, str(os.getpid()), *cmd]
            proc = subprocess.Popen(
                wrapped,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=full_env,
                cwd=cwd,
                start_new_session=True,
            )
            if Path("/proc").is_dir():
                watchdog = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",  # isolated: no site packages or PYTHONPATH needed, starts fast
                        str(WATCHDOG_SCRIPT),
                        str(os.getpid()),
                        str(proc.pid),
                        str(grace),
                        str(tmp),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # survives a kill of the launcher's process group
                )
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                stop_job(proc, grace=grace)
            except BaseException:  # e.g. KeyboardInterrupt in the notebook: never leave orphans
                stop_job(proc, grace=grace)
                raise
        elapsed = time.perf_counter() - t0
        outs, errs, failed = _read_rank_logs(tmp / "logs", nproc)
        launcher_log = (tmp / "launcher.log").read_text(errors="replace")
        root, codes = torchrun_failures(launcher_log)
        if root is not None and codes.get(root, 0) < 0 and codes[root] != -signal.SIGTERM:
            failed = [root, *[r for r in failed if r != root]]  # died from a signal: no traceback
        result = DistResult(proc.returncode, outs, errs, launcher_log, elapsed, cmd, timed_out, failed, codes)
    finally:
        if watchdog is not None:
            try:
                watchdog.wait(timeout=3)
            except subprocess.TimeoutExpired:
                watchdog.kill()
                watchdog.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        if lock_fd is not None:
            os.close(lock_fd)
    if check and timed_out:
        raise DistTimeout(
            f"{script.name}: no result after {timeout:g} s; the job was stopped "
            "(SIGTERM, then SIGKILL). Is a rank waiting for a peer that never comes?",
            result,
        )
    if check and result.returncode != 0:
        first = failed[0] if failed else None
        if first is not None and codes.get(first, 0) < 0 and codes[first] != -signal.SIGTERM:
            others = [r for r in failed[1:] if r < len(errs) and errs[r].strip()]
            detail = f"rank {first} was killed by {_signal_name(codes[first])} (exit code {codes[first]})"
            if others:
                detail += (
                    f"; the errors of rank(s) {', '.join(map(str, others))} "
                    f"({result.exception_line(others[0])[:120]}) followed from it"
                )
        elif first is not None:
            detail = f"rank {first} raised {result.exception_line(first)}"
        else:  # e.g. the rendezvous failed: torchrun's log says why
            tail = "\n".join(result.launcher_log.strip().splitlines()[-15:])
            detail = f"no rank left a traceback; the end of torchrun's log:\n{tail}"
        raise DistError(f"{script.name} failed (exit code {result.returncode}): {detail}", result)
    return result


# --------------------------------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------------------------------


def init_worker(backend: str | None = None) -> tuple[int, int]:
    """In a worker started by torchrun: join the process group; returns ``(rank, world_size)`` (ch. 07).

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


def ring_all_reduce(
    tensor: torch.Tensor,
    group: Any = None,
    stats: dict | None = None,
) -> torch.Tensor:
    """Sum ``tensor`` over all ranks in place with a chunked ring: reduce-scatter, all-gather (ch. 07).

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
        reqs = dist.batch_isend_irecv(
            [
                dist.P2POp(dist.isend, chunks[send_idx].contiguous(), right, group),
                dist.P2POp(dist.irecv, buf, left, group),
            ]
        )
        for r in reqs:
            r.wait()
        return buf

    for step in range(n - 1):  # reduce-scatter
        send_idx, recv_idx = (rank - step) % n, (rank - step - 1) % n
        chunks[recv_idx].add_(exchange(send_idx, recv_idx))
    for step in range(n - 1):  # all-gather
        send_idx, recv_idx = (rank + 1 - step) % n, (rank - step) % n
        chunks[recv_idx].copy_(exchange(send_idx, recv_idx))
    if not tensor.is_contiguous():  # reshape made a copy: write the sum back
        tensor.copy_(flat.view_as(tensor))
    return tensor
