"""book.dist under faults: a killed launcher, a rank killed by a signal, a taken port,
bad arguments, and job folders left by a killed run. Each test injects the fault on purpose."""

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from book import dist as bdist
from book import paths, watchdog


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Job folders go to a cache of this test's own, so that leftovers can be counted."""
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(cond, limit: float) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def run_folders() -> list[Path]:
    return sorted(paths.scratch_dir("dist_runs").glob(bdist.RUN_PREFIX + "*"))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")
def test_killed_launcher_takes_the_whole_job_down(tmp_path):
    # torchrun and its ranks run in their own sessions: when the launching process is killed (a kernel
    # restart, the OOM killer), PR_SET_PDEATHSIG and the watchdog must end them
    pids = tmp_path / "pids"
    pids.mkdir()
    worker = write(
        tmp_path,
        "sleeper.py",
        """
        import os, sys, time
        from book.dist import init_worker
        rank, world = init_worker()
        with open(os.path.join(sys.argv[1], f"{rank}.tmp"), "w") as f:
            f.write(f"{os.getpid()} {os.getppid()}")
        os.replace(os.path.join(sys.argv[1], f"{rank}.tmp"), os.path.join(sys.argv[1], str(rank)))
        time.sleep(600)
        """,
    )
    launcher = write(
        tmp_path,
        "launcher.py",
        """
        import sys
        import book.dist
        book.dist.launch(sys.argv[1], nproc=2, args=[sys.argv[2]], timeout=300)
        """,
    )
    parent = subprocess.Popen([sys.executable, str(launcher), str(worker), str(pids)], start_new_session=True)
    try:
        assert wait_until(lambda: len(list(pids.iterdir())) == 2, 60), "the ranks did not start"
        job = [int(x) for r in (0, 1) for x in (pids / str(r)).read_text().split()]
        assert all(alive(p) for p in job)
        assert len(run_folders()) == 1
        parent.kill()  # SIGKILL: no finally, no atexit in the launcher
        parent.wait()
        assert wait_until(lambda: not any(alive(p) for p in job), 15), "torchrun or a rank survived"
        assert wait_until(lambda: run_folders() == [], 5), run_folders()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_rank_killed_by_a_signal_is_named_as_root_cause(tmp_path, monkeypatch):
    # not "rank 0 raised RuntimeError: ... Connection reset by peer": rank 0 only lost its peer
    script = write(
        tmp_path,
        "oom.py",
        """
        import os, signal, time, torch, torch.distributed as dist
        from book.dist import init_worker
        rank, world = init_worker()
        if rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)      # as the OOM killer would
        dist.all_reduce(torch.ones(2))
        time.sleep(600)
        """,
    )
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(bdist.DistError) as info:
        bdist.launch(script, nproc=2, timeout=60)
    # nothing in the working directory, no job folder left
    assert list(work.iterdir()) == [] and run_folders() == []
    msg = str(info.value)
    assert "rank 1 was killed by SIGKILL (exit code -9)" in msg, msg
    assert not msg.split("failed (exit code 1): ")[1].startswith("rank 0")
    res = info.value.result
    assert res.failed_ranks()[0] == 1 and res.exit_codes[1] == -9


REPORT = """
Failures:
[1]:
  time      : 2026-11-24_11:44:19
  rank      : {other} (local_rank: {other})
  exitcode  : {other_code} (pid: 9338)
------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-11-24_11:44:19
  rank      : {first} (local_rank: {first})
  exitcode  : {first_code} (pid: 9339)
======================================================
"""


def test_torchrun_failures_parser():
    # torchrun's own report (the format of torch.distributed.elastic's ChildFailedError)
    report = REPORT.format(other=0, other_code=-15, first=1, first_code=-9)
    assert bdist.torchrun_failures(report) == (1, {0: -15, 1: -9})
    # its "first observed failure" is a rank it SIGTERMed itself: the SIGSEGV'd rank is the cause
    report = REPORT.format(other=2, other_code=-11, first=0, first_code=-15)
    assert bdist.torchrun_failures(report) == (2, {2: -11, 0: -15})
    # a Python exception (exit code 1) stays the root cause
    report = REPORT.format(other=0, other_code=-15, first=1, first_code=1)
    assert bdist.torchrun_failures(report) == (1, {0: -15, 1: 1})
    assert bdist.torchrun_failures("no report at all") == (None, {})


def test_taken_port_fails_fast_with_a_clear_message(tmp_path):
    # torchrun's rendezvous would wait on a taken port until the launcher's full timeout
    script = write(tmp_path, "ok.py", "print('never started')\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t0 = time.perf_counter()
        with pytest.raises(bdist.PortInUseError, match=f"port {port} is already in use.*port=None"):
            bdist.launch(script, nproc=2, timeout=60, port=port)
        assert time.perf_counter() - t0 < 5
    assert run_folders() == []


@pytest.mark.parametrize("reuse", [False, True], ids=["plain", "SO_REUSEADDR"])
@pytest.mark.parametrize("how", ["bound, not listening", "listening, never answering"])
def test_every_kind_of_taken_port_is_refused_at_once_naming_it(how, reuse):
    with socket.socket() as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        peers = []
        if how.startswith("listening"):
            s.listen(0)  # never accepts: with its backlog full, a connect would hang
            for _ in range(3):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", port))
                peers.append(c)
        t0 = time.perf_counter()
        try:
            with pytest.raises(bdist.PortInUseError, match=f"port {port} is already in use") as e:
                bdist.check_port(port)
        finally:
            for c in peers:
                c.close()
        assert time.perf_counter() - t0 < 3
        assert ("listening on it" if how.startswith("listening") else "bound it") in str(e.value)


def test_a_port_with_only_closed_connections_is_free():
    """TIME_WAIT after a finished job must not make a port look taken (torchrun can reuse it)."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn, _ = server.accept()
        conn.close()  # the server side closes first: its end of the port goes to TIME_WAIT
        time.sleep(0.05)
        client.close()
    bdist.check_port(port)  # no error


@pytest.mark.parametrize("nproc", [0, -1, 1.5, True, "2"])
def test_bad_nproc_is_a_value_error(tmp_path, nproc):
    # nproc=0 would end in a bare AssertionError inside torchrun
    script = write(tmp_path, "ok.py", "print('x')\n")
    with pytest.raises(ValueError, match="nproc=.*integer >= 1"):
        bdist.launch(script, nproc=nproc)


def test_bad_timeouts_and_ports_are_value_errors(tmp_path):
    script = write(tmp_path, "ok.py", "print('x')\n")
    with pytest.raises(ValueError, match="timeouts must be positive"):
        bdist.launch(script, timeout=0)
    with pytest.raises(ValueError, match="port=70000"):
        bdist.launch(script, port=70000)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks")
def test_stale_job_folders_are_removed_running_ones_kept(tmp_path):
    # a killed launch must not leave its job folder forever: job folders hold a lock while they run, and
    # the next launch removes those whose lock is free (their launcher is gone)
    import fcntl

    runs = paths.scratch_dir("dist_runs")
    stale = runs / f"{bdist.RUN_PREFIX}123_dead"
    (stale / "logs").mkdir(parents=True)
    (stale / ".lock").write_text("")
    (stale / "logs" / "x.log").write_text("left by a killed run")
    running = runs / f"{bdist.RUN_PREFIX}456_live"
    running.mkdir()
    fd = os.open(running / ".lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert bdist.clean_stale_runs() == [stale]
        assert not stale.exists() and running.is_dir()
    finally:
        os.close(fd)
    assert bdist.clean_stale_runs() == [running]


def test_worker_path_names_the_known_workers():
    assert bdist.worker_path("ddp").name == "ddp.py" and bdist.worker_path("ddp.py").is_file()
    with pytest.raises(FileNotFoundError, match="ddp"):
        bdist.worker_path("nope")
    assert "init_worker" in str(bdist.show_worker("hello"))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the watchdog walks /proc")
def test_watchdog_script_stops_a_job_whose_launcher_is_gone(tmp_path):
    """book/watchdog.py runs by its path (no `book` import) and ends the job and its children."""
    job = subprocess.Popen(
        ["sh", "-c", "sleep 60 & sleep 60; wait"], start_new_session=True, stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while len(bdist.children_tree(job.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        kids = bdist.children_tree(job.pid)
        assert len(kids) == 2
        folder = tmp_path / "job"
        folder.mkdir()
        # launcher pid 1 is not the watchdog's parent: to the watchdog, its launcher has died
        wd = subprocess.run(
            [sys.executable, "-I", str(bdist.WATCHDOG_SCRIPT), "1", str(job.pid), "2", str(folder)],
            timeout=30,
        )
        assert wd.returncode == 0
        assert job.wait(timeout=10) != 0  # stopped by a signal
        assert not folder.exists()
        time.sleep(0.2)
        assert not any(watchdog.alive(p) for p in kids)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
