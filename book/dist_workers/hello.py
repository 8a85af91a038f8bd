import os

import torch
import torch.distributed as dist

from book.dist import init_worker

rank, world = init_worker()  # = dist.init_process_group("gloo", timeout=...) on CPU
local = os.environ["LOCAL_RANK"]
print(f"rank {rank} of {world} (local rank {local}), backend {dist.get_backend()}")

# point-to-point: rank 0 sends a tensor, rank 1 receives it into a buffer
if rank == 0:
    dist.send(torch.tensor([1.5, -2.0]), dst=1)
elif rank == 1:
    buf = torch.zeros(2)
    dist.recv(buf, src=0)
    print(f"rank 1 received {buf.tolist()} from rank 0")

x = torch.tensor([float(rank + 1)])  # rank r holds r + 1
b = x.clone()
dist.broadcast(b, src=0)  # everyone gets rank 0's value
r = x.clone()
dist.reduce(r, dst=0)  # sum lands on rank 0 only
a = x.clone()
dist.all_reduce(a)  # sum lands everywhere
g = [torch.zeros(1) for _ in range(world)]
dist.all_gather(g, x)  # everyone gets every value
# rank r holds [10r, 10r + 1, ...]
v = torch.arange(world, dtype=torch.float32) + 10 * rank
s = torch.zeros(1)
dist.reduce_scatter_tensor(s, v)  # rank r gets the sum of element r
print(
    f"rank {rank}: broadcast {b.item():g} | all_reduce {a.item():g} | "
    f"all_gather {[t.item() for t in g]} | reduce_scatter {s.item():g}"
    + (f" | reduce {r.item():g}" if rank == 0 else "")
)
dist.destroy_process_group()
