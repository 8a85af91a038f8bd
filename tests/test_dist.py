"""book.dist: the torchrun launcher (bounded, output per rank, failures and hangs) and the ring all-reduce.

Every test is bounded twice: the launcher's own wall-clock limit, and a SIGALRM guard around each test.
Launches run 2-3 CPU processes with gloo; the whole file takes about half a minute.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from book import dist as bdist

TEST_LIMIT_S = 90  # no single test may take longer than this, whatever happens


@pytest.fixture(autouse=True)
def bounded():
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"test ran past {TEST_LIMIT_S} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as dead
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_free_port_and_command():
    port = bdist.free_port()
    assert 1024 <= port <= 65535
    cmd = bdist.torchrun_command("w.py", nproc=3, port=port, args=[7, "x"], run_id="r1", log_dir="/tmp/l")
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    joined = " ".join(cmd)
    assert "--nproc-per-node 3" in joined and f"--rdzv-endpoint 127.0.0.1:{port}" in joined
    assert "--max-restarts 0" in joined and "--log-dir /tmp/l --redirects 3" in joined
    assert cmd[-3:] == ["w.py", "7", "x"]


def test_missing_script_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bdist.launch(tmp_path / "nope.py", timeout=5)


def test_ring_all_reduce_equals_all_reduce_and_outputs_by_rank(tmp_path):
    # one launch checks the ring all-reduce and the launcher's environment and per-rank outputs
    script = write(
        tmp_path,
        "ring.py",
        """
        import os
        import torch, torch.distributed as dist
        from book.dist import init_worker, ring_all_reduce
        rank, world = init_worker()
        env = os.environ["OMP_NUM_THREADS"], os.environ["BOOK_DIST_TIMEOUT"], dist.get_backend()
        torch.manual_seed(rank)
        for shape in [(1,), (2,), (5,), (4, 7), (1000,)]:          # shorter than N, uneven, 2-D, large
            for dtype in (torch.float64, torch.int64):
                x = (torch.randn(shape) * 100).to(dtype)
                mine, ref = x.clone(), x.clone()
                stats = {}
                assert ring_all_reduce(mine, stats=stats) is mine
                dist.all_reduce(ref)
                assert torch.allclose(mine.double(), ref.double(), rtol=1e-12, atol=1e-9), (shape, mine, ref)
                assert stats["steps"] == 2 * (world - 1)
                if x.numel() == 1000:
                    assert abs(stats["sent"] - 2 * (world - 1) / world * 1000) <= 2 * (world - 1)
        t = torch.arange(12.0).reshape(3, 4).t() * (rank + 1)      # non-contiguous input
        ref = t.clone(); dist.all_reduce(ref)
        ring_all_reduce(t)
        assert torch.equal(t, ref)
        print(rank, world, *env, "ok")
    """,
    )
    res = bdist.launch(script, nproc=3, timeout=60, init_timeout=12, env={"BOOK_DIST_BACKEND": "gloo"})
    assert res.returncode == 0 and not res.timed_out and res.failed_ranks() == []
    assert res.outputs == [f"{r} 3 1 12 gloo ok\n" for r in range(3)]


def test_chapter_ddp_worker_equals_single_process_training():
    # the chapter's own worker file (book/dist_workers/ddp.py), not a copy: it asserts that DDP on 2
    # ranks and one process on the same global batches end with the same parameters
    res = bdist.launch(bdist.worker_path("ddp"), nproc=2, args=[1], timeout=90)
    out = res.outputs[0]
    for check in (
        "[1] manual all-reduce average == full-batch gradient: True",
        "[2] DDP gradient == full-batch gradient: True",
        "[3] no_sync accumulation over 2 micro-batches == full-batch gradient: True",
        "[4] max |theta_DDP - theta_single| < 1e-5: True",
    ):
        assert check in out, out
    assert "bucket 0: ['2.bias', '2.weight']" in out or "bucket 0: ['2.weight', '2.bias']" in out, out
    acc = [float(w.rstrip(",")) for w in out.split("test accuracy")[1].split() if w[:2] == "0."]
    assert len(acc) == 2 and acc[0] == acc[1] and acc[0] > 0.5, out
    assert res.outputs[1] == ""  # rank 1 prints nothing


def test_dead_rank_ends_job_with_clear_error():
    t0 = time.perf_counter()
    with pytest.raises(bdist.DistError) as info:
        # the chapter's crash worker; the collective timeout (60 s) must not be what ends it
        bdist.launch(bdist.worker_path("crash"), nproc=2, timeout=60, init_timeout=60)
    elapsed = time.perf_counter() - t0
    assert elapsed <= 30, elapsed
    assert not isinstance(info.value, bdist.DistTimeout)
    msg = str(info.value)
    assert "crash.py failed" in msg and "rank 1 raised RuntimeError: rank 1 crashed on purpose" in msg
    assert info.value.result.failed_ranks()[0] == 1
    assert info.value.result.returncode != 0


def test_launcher_kills_a_hung_job(tmp_path):
    script = write(
        tmp_path,
        "hang.py",
        """
        import os, time
        print(os.getpid(), flush=True)  # first, so that a slow start on a busy machine still shows it
        from book.dist import init_worker
        rank, world = init_worker()
        time.sleep(600)
    """,
    )
    t0 = time.perf_counter()
    with pytest.raises(bdist.DistTimeout, match="no result after 9 s") as info:
        bdist.launch(script, nproc=2, timeout=9, grace=3)
    assert time.perf_counter() - t0 < 9 + 3 + 5
    res = info.value.result
    assert res.timed_out and res.returncode != 0
    pids = [int(out.split()[0]) for out in res.outputs if out.strip()]
    assert len(pids) == 2, res.outputs  # both ranks were running when the limit hit
    time.sleep(0.5)
    assert not any(alive(p) for p in pids), "a worker survived the launcher's timeout"


def test_stop_job_kills_what_ignores_sigterm(tmp_path):
    # a parent that ignores SIGTERM, with a child in its own session (as torchrun's workers are)
    script = write(
        tmp_path,
        "stubborn.py",
        """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"],
                                 start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(600)
    """,
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    child = int(proc.stdout.readline())
    t0 = time.perf_counter()
    bdist.stop_job(proc, grace=1.0)
    assert time.perf_counter() - t0 < 10
    assert proc.returncode == -signal.SIGKILL
    for _ in range(20):
        if not alive(child):
            break
        time.sleep(0.1)
    assert not alive(child)
    proc.stdout.close()
