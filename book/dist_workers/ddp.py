import sys

import torch
import torch.distributed as dist
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from book.dist import init_worker

rank, world = init_worker()
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
digits = load_digits()  # 1797 real 8x8 images, shipped with scikit-learn
X = torch.tensor(digits.data, dtype=torch.float32) / 16.0
y = torch.tensor(digits.target)
loss_fn = nn.CrossEntropyLoss()


def make_model():
    torch.manual_seed(0)  # same initial weights on every rank
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def same_grads(a, b):
    return all(
        torch.allclose(p.grad, q.grad, atol=1e-6)
        for p, q in zip(a.parameters(), b.parameters())
    )


def say(*args, **kwargs):
    if rank == 0:
        print(*args, **kwargs)


xb, yb = X[:64], y[:64]  # one global batch of 64
mine = slice(32 * rank, 32 * (rank + 1))  # this rank's half
full = make_model()
loss_fn(full(xb), yb).backward()  # reference: the full-batch gradient

# [1] manual data parallel: local gradient, all-reduce, divide by N
model = make_model()
loss_fn(model(xb[mine]), yb[mine]).backward()
for p in model.parameters():
    dist.all_reduce(p.grad)
    p.grad /= world
say("[1] manual all-reduce average == full-batch gradient:", same_grads(model, full))

# [2] DDP, with a comm hook that logs each bucket as it is sent
ddp = DDP(make_model(), bucket_cap_mb=0.001)  # tiny buckets (1 KB): several of them
names = {p: n for n, p in ddp.module.named_parameters()}
sent = []


def logging_allreduce(state, bucket):
    sent.append(f"bucket {bucket.index()}: {[names[p] for p in bucket.parameters()]}")
    buf = bucket.buffer().div_(world)
    future = dist.all_reduce(buf, async_op=True).get_future()
    return future.then(lambda fut: fut.value()[0])


ddp.register_comm_hook(None, logging_allreduce)
# iteration 1: one bucket; then DDP rebuilds the buckets in gradient-ready order
for _iteration in range(2):
    sent.clear()
    ddp.zero_grad()
    loss_fn(ddp(xb[mine]), yb[mine]).backward()
say("[2] DDP gradient == full-batch gradient:", same_grads(ddp.module, full))
say(
    "    iteration 2, buckets in the order backward launched their all-reduce:",
    *sent,
    sep="\n      ",
)

# [3] gradient accumulation: 2 micro-batches of 16 per rank; all-reduce on the last
ddp = DDP(make_model())
halves = [slice(32 * rank, 32 * rank + 16), slice(32 * rank + 16, 32 * rank + 32)]
with ddp.no_sync():  # local accumulation, no all-reduce
    (loss_fn(ddp(xb[halves[0]]), yb[halves[0]]) / 2).backward()
# the last micro-batch: all-reduce of the accumulated sum
(loss_fn(ddp(xb[halves[1]]), yb[halves[1]]) / 2).backward()
say(
    "[3] no_sync accumulation over 2 micro-batches == full-batch gradient:",
    same_grads(ddp.module, full),
)

# [4] a real training run: DDP on 2 ranks vs one process on the same global batches
train = TensorDataset(X[:1500], y[:1500])
test_x, test_y = X[1500:], y[1500:]
local_bs = 32


def batches_of(rank_, epoch):
    s = DistributedSampler(train, num_replicas=world, rank=rank_, shuffle=True, seed=0)
    s.set_epoch(epoch)
    idx = list(s)
    return [idx[i : i + local_bs] for i in range(0, len(idx), local_bs)]


ddp = DDP(make_model())
opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=0)
loader = DataLoader(train, batch_size=local_bs, sampler=sampler)
for epoch in range(epochs):
    sampler.set_epoch(epoch)
    total = torch.zeros(2)
    for xb_, yb_ in loader:
        opt.zero_grad()
        loss = loss_fn(ddp(xb_), yb_)
        loss.backward()
        opt.step()
        total += torch.tensor([loss.item() * len(yb_), len(yb_)])
    dist.all_reduce(total)
    say(f"[4] epoch {epoch}: DDP train loss {total[0] / total[1]:.4f}")

if rank == 0:  # single process, the same global batches, in order
    single = make_model()
    opt = torch.optim.SGD(single.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(epochs):
        for parts in zip(*[batches_of(r, epoch) for r in range(world)]):
            idx = sum(parts, [])  # rank 0's part + rank 1's part = the global batch
            opt.zero_grad()
            loss_fn(single(X[idx]), y[idx]).backward()
            opt.step()
    pairs = zip(ddp.module.parameters(), single.parameters())
    diff = max((p - q).abs().max().item() for p, q in pairs)
    assert diff < 1e-5, diff
    acc = lambda m: (m(test_x).argmax(1) == test_y).float().mean().item()
    print(f"[4] max |theta_DDP - theta_single| < 1e-5: {diff < 1e-5}")
    print(
        f"[4] test accuracy ({len(test_y)} images): "
        f"DDP {acc(ddp.module):.3f}, single process {acc(single):.3f}"
    )
dist.destroy_process_group()
