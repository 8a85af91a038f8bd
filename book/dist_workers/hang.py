import time

from book.dist import init_worker

rank, world = init_worker()
print(f"rank {rank} is about to hang", flush=True)
time.sleep(600)
