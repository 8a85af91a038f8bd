import json
import sys
import time

import torch
import torch.distributed as dist

from book.dist import init_worker

device = sys.argv[1] if len(sys.argv) > 1 else "cpu"  # "cuda": NCCL, one GPU per rank
max_log2 = int(sys.argv[2]) if len(sys.argv) > 2 else 22  # up to 2**22 float32 = 16 MiB
rank, world = init_worker("nccl" if device == "cuda" else "gloo")
dev = torch.device("cuda", torch.cuda.current_device()) if device == "cuda" else None


def sync():
    if device == "cuda":
        torch.cuda.synchronize()  # GPU work is asynchronous: wait for it to finish


for k in range(0, max_log2 + 1, 2):  # 1 ... 2**max_log2 float32 elements
    x = torch.ones(2**k, device=dev)
    for _ in range(3):  # warm-up (connections, allocations)
        dist.all_reduce(x)
    times = []
    for _ in range(25 if k < 18 else 7):
        dist.barrier()
        sync()
        t0 = time.perf_counter()
        dist.all_reduce(x)
        sync()
        times.append(time.perf_counter() - t0)
    # the best try: the one least disturbed by other processes sharing the machine
    t = torch.tensor([min(times)], dtype=torch.float64, device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)  # the slowest rank decides
    if rank == 0:
        print(json.dumps({"bytes": 4 * 2**k, "seconds": t.item()}))
dist.destroy_process_group()
