import time

import torch.distributed as dist

from book.dist import init_worker

rank, world = init_worker()
if rank == 1:
    time.sleep(600)  # alive, but never joins the barrier
dist.barrier()  # rank 0: times out after BOOK_DIST_TIMEOUT seconds
