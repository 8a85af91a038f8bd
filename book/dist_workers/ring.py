import torch
import torch.distributed as dist

from book.dist import init_worker, ring_all_reduce

rank, world = init_worker()
torch.manual_seed(rank)
for numel in [3, 1001, 100_000]:
    x = torch.randn(numel)
    mine, ref = x.clone(), x.clone()
    stats = {}
    ring_all_reduce(mine, stats=stats)
    dist.all_reduce(ref)
    assert torch.allclose(mine, ref, rtol=1e-5, atol=1e-5), (rank, numel)
    # integer values: their sums are exact in any order
    ints = torch.randint(-1000, 1000, (numel,)).float()
    mine_i, ref_i = ints.clone(), ints.clone()
    ring_all_reduce(mine_i)
    dist.all_reduce(ref_i)
    assert torch.equal(mine_i, ref_i)
    if rank == 0:
        sent, steps = stats["sent"], stats["steps"]
        print(
            f"S = {numel:>7}: ring == all_reduce | rank 0 sent {sent:>6} elements "
            f"= {sent / numel:.3f} S in {steps} steps"
        )
if rank == 0:
    print(f"2(N-1)/N = {2 * (world - 1) / world:.3f} for N = {world}")
dist.destroy_process_group()
