import copy

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.distributed.fsdp import fully_shard
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel as DDP

from book.dist import init_worker

rank, world = init_worker()
torch.manual_seed(0)
model0 = nn.Sequential(
    nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)
)
x, y = torch.randn(64, 64), torch.randint(0, 10, (64,))
mine = slice(32 * rank, 32 * (rank + 1))
loss_fn = nn.CrossEntropyLoss()
n_params = sum(p.numel() for p in model0.parameters())


def state_bytes(opt):
    return sum(
        t.numel() * t.element_size()
        for s in opt.state.values()
        for t in s.values()
        if torch.is_tensor(t) and t.dim() > 0
    )


def train(model, opt, xs, ys, steps=3):
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(xs), ys).backward()
        opt.step()


# reference: one process, full batch, plain Adam
ref = copy.deepcopy(model0)
ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-2)
train(ref, ref_opt, x, y)

# ZeRO-1: DDP for the gradients + ZeroRedundancyOptimizer for the Adam states
ddp = DDP(copy.deepcopy(model0))
zero = ZeroRedundancyOptimizer(ddp.parameters(), torch.optim.Adam, lr=1e-2)
train(ddp, zero, x[mine], y[mine])
pairs = zip(ddp.module.parameters(), ref.parameters())
ok = all(torch.allclose(p, q, atol=1e-5) for p, q in pairs)
full_state = state_bytes(ref_opt)
print(
    f"rank {rank} ZeRO-1: Adam state bytes {state_bytes(zero.optim):>6} of {full_state}"
    f" | params == single-process Adam: {ok}"
)

# FSDP2 (ZeRO-3): shard every Linear, then the root
fsdp = copy.deepcopy(model0)
for layer in fsdp:
    if isinstance(layer, nn.Linear):
        fully_shard(layer)
fully_shard(fsdp)
opt = torch.optim.Adam(fsdp.parameters(), lr=1e-2)
held = sum(
    p.to_local().numel() * p.to_local().element_size() for p in fsdp.parameters()
)
train(fsdp, opt, x[mine], y[mine])
# full_tensor() is a collective (all-gather): every rank must call it for every
# parameter, so build the whole list (all() on a generator could stop early)
pairs = zip(fsdp.parameters(), ref.parameters())
ok = all([torch.allclose(p.full_tensor(), q, atol=1e-5) for p, q in pairs])
adam = sum(
    t.to_local().numel() * t.to_local().element_size()
    for s in opt.state.values()
    for t in s.values()
    if t.dim() > 0
)
print(
    f"rank {rank} FSDP2 : parameter bytes {held:>6} of {4 * n_params}, "
    f"Adam state bytes {adam:>6} of {full_state} | params == single-process Adam: {ok}"
)
if rank == 0:
    p = next(fsdp.parameters())
    print(
        "parameter type after fully_shard:",
        type(p).__name__,
        "| placement:",
        p.placements,
    )
dist.destroy_process_group()
