import copy

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    RowwiseParallel,
    parallelize_module,
)

from book.dist import init_worker

rank, world = init_worker()
torch.manual_seed(0)
x = torch.randn(8, 16)
mlp = nn.Sequential(
    nn.Linear(16, 32, bias=False), nn.ReLU(), nn.Linear(32, 16, bias=False)
)
W1, W2 = mlp[0].weight.detach(), mlp[2].weight.detach()  # (32, 16), (16, 32)
y_ref = mlp(x)

# tensor parallel by hand: column-parallel W1 (split outputs), row-parallel W2 (inputs)
rows = W1.chunk(world, dim=0)[rank]  # this rank's output features of layer 1
cols = W2.chunk(world, dim=1)[rank]  # the matching input features of layer 2
h = F.relu(x @ rows.T)  # (8, 16): half of the hidden layer, no communication
y = h @ cols.T  # a partial sum of the output
dist.all_reduce(y)  # the only communication of the MLP
print(
    f"rank {rank} TP by hand : W1 shard {tuple(rows.shape)}, "
    f"W2 shard {tuple(cols.shape)}, "
    f"y == unsharded MLP: {torch.allclose(y, y_ref, atol=1e-5)}"
)

# the same with DTensor: a 1-D DeviceMesh and parallelize_module
mesh = init_device_mesh("cpu", (world,), mesh_dim_names=("tp",))
# parallelize_module shards the weights (identical on every rank) of a copy of the MLP
plan = {"0": ColwiseParallel(), "2": RowwiseParallel()}
tp = parallelize_module(copy.deepcopy(mlp), mesh, plan)
y_tp = tp(x)
y_tp.sum().backward()
mlp.zero_grad()
mlp(x).sum().backward()
same = torch.allclose(tp[0].weight.grad.full_tensor(), mlp[0].weight.grad, atol=1e-5)
local_w1 = tuple(tp[0].weight.to_local().shape)
print(
    f"rank {rank} TP DTensor: local W1 {local_w1}, "
    f"y == unsharded: {torch.allclose(y_tp, y_ref, atol=1e-5)}, "
    f"grads == unsharded: {same}"
)

# pipeline parallel, 4 micro-batches:
# stage 0 = layers 0-1 on rank 0, stage 1 = layer 2 + loss on rank 1
target = torch.randn(8, 16)
micro = 4
mlp.zero_grad()
F.mse_loss(mlp(x), target).backward()  # reference gradients, one process
ref_grads = [p.grad.clone() for p in mlp.parameters()]
stage = mlp[:2] if rank == 0 else mlp[2:]
stage.zero_grad()
pending = []
if rank == 0:
    acts = []
    for xm in x.chunk(micro):  # forward: send each micro-batch's activation on
        a = stage(xm)
        pending.append(dist.isend(a.detach(), dst=1))
        acts.append(a)
    for a in acts:  # backward: receive d loss / d activation, continue
        g = torch.empty_like(a)
        dist.recv(g, src=1)
        a.backward(g)
else:
    for tm in target.chunk(micro):
        a = torch.empty(x.shape[0] // micro, 32)
        dist.recv(a, src=0)
        a.requires_grad_()
        # mean over the whole batch = sum of the micro-batch means / m
        loss = F.mse_loss(stage(a), tm) / micro
        loss.backward()
        pending.append(dist.isend(a.grad, dst=0))
for req in pending:
    req.wait()
mine = [p.grad for p in stage.parameters()]
ref = ref_grads[:1] if rank == 0 else ref_grads[1:]
same = all(torch.allclose(g, r, atol=1e-6) for g, r in zip(mine, ref))
print(f"rank {rank} pipeline  : stage grads == single-process grads: {same}")
dist.destroy_process_group()
