import torch
import torch.distributed as dist

from book.dist import init_worker

rank, world = init_worker()
if rank == 1:
    raise RuntimeError("rank 1 crashed on purpose")
t = torch.ones(3)
dist.all_reduce(t)  # rank 0 waits here for rank 1, which never comes
print("never printed")
