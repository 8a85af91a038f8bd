import torch
import torch.distributed as dist
import torch.nn as nn

from book.dist import init_worker

rank, world = init_worker()
torch.manual_seed(0)
x = torch.randn(8, 3, 4, 4) + torch.arange(8.0).view(
    8, 1, 1, 1
)  # means differ by sample
mine = x[4 * rank : 4 * rank + 4]  # rank 0 holds samples 0-3, rank 1 holds 4-7
full_bn = nn.BatchNorm2d(3)
y_full = full_bn(x)[4 * rank : 4 * rank + 4]  # one process, the whole batch of 8


def sync_batch_norm(x, bn):
    """BatchNorm over the global batch: all-reduce count, sum and sum of squares."""
    c = x.shape[1]
    count = torch.tensor([x.numel() / c])
    stats = torch.cat([count, x.sum((0, 2, 3)), (x * x).sum((0, 2, 3))])
    dist.all_reduce(stats)  # one small message per BN layer
    n, s, ss = stats[0], stats[1 : 1 + c], stats[1 + c :]
    mean, var = s / n, ss / n - (s / n) ** 2  # the biased variance normalises
    with torch.no_grad():  # running_var is unbiased, as in BatchNorm
        bn.running_mean.lerp_(mean, bn.momentum)
        bn.running_var.lerp_(var * n / (n - 1), bn.momentum)
    shape = (1, -1, 1, 1)
    x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + bn.eps)
    return x_hat * bn.weight.view(shape) + bn.bias.view(shape)


local_bn, sync_bn = nn.BatchNorm2d(3), nn.BatchNorm2d(3)
y_local = local_bn(mine)  # plain BatchNorm: statistics of this rank's 4 samples only
y_sync = sync_batch_norm(mine, sync_bn)
if rank == 0:
    close = lambda a, b: torch.allclose(a, b, atol=1e-5)
    print(f"local BatchNorm == full-batch BatchNorm: {close(y_local, y_full)}")
    print(f"sync BatchNorm  == full-batch BatchNorm: {close(y_sync, y_full)}")
    local, sync, full = (
        bn.running_mean[0].item() for bn in (local_bn, sync_bn, full_bn)
    )
    print(f"running mean[0]: local {local:.3f}, sync {sync:.3f}, full batch {full:.3f}")
    same_var = close(sync_bn.running_var, full_bn.running_var)
    print(f"running var: sync == full batch: {same_var}")
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # the GPU API
    print("convert_sync_batchnorm:", [type(m).__name__ for m in converted])
dist.destroy_process_group()
