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

TEST_LIMIT_S = 90   # no single test may take longer than this, whatever happens


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
    assert f"--nproc-per-node 3" in joined and f"--rdzv-endpoint 127.0.0.1:{port}" in joined
    assert "--max-restarts 0" in joined and "--log-dir /tmp/l --redirects 3" in joined
    assert cmd[-3:] == ["w.py", "7", "x"]


def test_missing_script_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bdist.launch(tmp_path / "nope.py", timeout=5)


def test_outputs_sorted_by_rank_and_env(tmp_path):
    script = write(tmp_path, "env.py", """
        import os
        import torch.distributed as dist
        from book.dist import init_worker
        rank, world = init_worker()
        print(rank, world, os.environ["OMP_NUM_THREADS"], os.environ["BOOK_DIST_TIMEOUT"], dist.get_backend())
    """)
    res = bdist.launch(script, nproc=2, timeout=60, init_timeout=12, env={"BOOK_DIST_BACKEND": "gloo"})
    assert res.returncode == 0 and not res.timed_out
    assert res.outputs == ["0 2 1 12 gloo\n", "1 2 1 12 gloo\n"]
    assert res.failed_ranks() == []


def test_ring_all_reduce_equals_all_reduce(tmp_path):
    script = write(tmp_path, "ring.py", """
        import torch, torch.distributed as dist
        from book.dist import init_worker, ring_all_reduce
        rank, world = init_worker()
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
        print("ok")
    """)
    res = bdist.launch(script, nproc=3, timeout=60)
    assert res.outputs == ["ok\n"] * 3


def test_ddp_equals_single_process_training(tmp_path):
    script = write(tmp_path, "ddp.py", """
        import torch, torch.distributed as dist, torch.nn as nn
        from torch.nn.parallel import DistributedDataParallel as DDP
        from book.dist import init_worker
        rank, world = init_worker()

        def make():
            torch.manual_seed(0)
            return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))

        g = torch.Generator().manual_seed(1)
        X, y = torch.randn(10, 16, 5, generator=g), torch.randint(0, 3, (10, 16), generator=g)
        ddp = DDP(make())
        opt = torch.optim.SGD(ddp.parameters(), lr=0.2, momentum=0.9)
        half = slice(8 * rank, 8 * rank + 8)
        for step in range(10):                       # global batch 16 = 8 per rank
            opt.zero_grad()
            nn.functional.cross_entropy(ddp(X[step, half]), y[step, half]).backward()
            opt.step()
        single = make()
        opt = torch.optim.SGD(single.parameters(), lr=0.2, momentum=0.9)
        for step in range(10):
            opt.zero_grad()
            nn.functional.cross_entropy(single(X[step]), y[step]).backward()
            opt.step()
        diff = max((p - q).abs().max().item() for p, q in zip(ddp.module.parameters(), single.parameters()))
        moved = max((p - q).abs().max().item() for p, q in zip(single.parameters(), make().parameters()))
        print(f"{diff:.1e} {moved > 1e-2}")
        assert diff < 1e-5
    """)
    res = bdist.launch(script, nproc=2, timeout=60)
    for out in res.outputs:
        diff, moved = out.split()
        assert float(diff) < 1e-5 and moved == "True"


def test_dead_rank_ends_job_with_clear_error(tmp_path):
    script = write(tmp_path, "crash.py", """
        import time, torch, torch.distributed as dist
        from book.dist import init_worker
        rank, world = init_worker()
        if rank == 1:
            raise ValueError("boom from rank 1")
        dist.all_reduce(torch.ones(2))    # rank 0 waits for rank 1
        time.sleep(600)
    """)
    t0 = time.perf_counter()
    with pytest.raises(bdist.DistError) as info:
        bdist.launch(script, nproc=2, timeout=60, init_timeout=60)   # the collective timeout must not be what ends it
    elapsed = time.perf_counter() - t0
    assert elapsed <= 30, elapsed
    assert not isinstance(info.value, bdist.DistTimeout)
    msg = str(info.value)
    assert "crash.py failed" in msg and "rank 1 raised ValueError: boom from rank 1" in msg
    assert info.value.result.failed_ranks()[0] == 1
    assert info.value.result.returncode != 0


def test_launcher_kills_a_hung_job(tmp_path):
    script = write(tmp_path, "hang.py", """
        import os, time
        from book.dist import init_worker
        rank, world = init_worker()
        print(os.getpid(), flush=True)
        time.sleep(600)
    """)
    t0 = time.perf_counter()
    with pytest.raises(bdist.DistTimeout, match="no result after 9 s") as info:
        bdist.launch(script, nproc=2, timeout=9, grace=3)
    assert time.perf_counter() - t0 < 9 + 3 + 5
    res = info.value.result
    assert res.timed_out and res.returncode != 0
    pids = [int(out.split()[0]) for out in res.outputs if out.strip()]
    assert len(pids) == 2, res.outputs             # both ranks were running when the limit hit
    time.sleep(0.5)
    assert not any(alive(p) for p in pids), "a worker survived the launcher's timeout"


def test_stop_job_kills_what_ignores_sigterm(tmp_path):
    # a parent that ignores SIGTERM, with a child in its own session (as torchrun's workers are)
    script = write(tmp_path, "stubborn.py", """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"],
                                 start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
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
