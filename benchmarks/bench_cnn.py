"""Full-mode CNN results of chapters 05 and 06, written with ``book.results`` (``make results``).

    python benchmarks/bench_cnn.py mnist            # results/mnist.json: LeNet (train.fit), ResNet-18 (Trainer)
    python benchmarks/bench_cnn.py cifar10_cnn      # results/cifar10_cnn.json: LeNet, ResNet-18 (CIFAR stem)
    python benchmarks/bench_cnn.py cifar10_fast     # results/cifar10_fast.json: airbench-style net + ablation
    python benchmarks/bench_cnn.py --smoke all      # every path in seconds on a CPU; writes to a temp folder

It runs the book's own code, nothing of its own: the models of ``book.models`` and ``book.fast_cifar``,
the plain loop ``book.train.fit`` (chapter 05), the resumable ``book.trainer.Trainer`` (chapter 06) and
``book.fast_cifar.train`` (chapter 06's fast training). The only thing added here is
:class:`TensorBatches`, which serves batches of a data set that already lives on the GPU.

Without a CUDA GPU it exits with status 2 (``--smoke`` excepted: it checks the code paths on the CPU, and
its numbers mean nothing). Each group is one command (``make results-mnist`` etc., each under 9 minutes on
an H100). Test accuracy is measured once, after training with a fixed recipe: nothing is selected on it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict

import torch
from torch import nn

from book import data as bdata
from book import fast_cifar, models, results, train
from book.env import RunConfig, get_smoke
from book.trainer import TrainConfig, Trainer
from book.utils import seed_everything

MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
GROUPS = ("mnist", "cifar10_cnn", "cifar10_fast")
# the goals of the full-mode runs (reported as met or not, never tuned on the test set)
GOALS = {
    "mnist_resnet18": {"test_acc": 0.995, "train_time_s": 30.0},
    "cifar10_resnet18": {"test_acc": 0.95},
    "cifar10_fast": {"test_acc": 0.94, "train_time_s": 30.0},
}


# ----------------------------------------------------------------------------- data
class TensorBatches:
    """Shuffled batches of tensors that already live on the device (a DataLoader without copies).

    ``transform`` runs on each input batch (augmentation and normalisation on the GPU). The order of
    epoch ``e`` comes from ``Generator().manual_seed(seed + e)``; iterating again starts the next epoch.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = True,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        seed: int = 0,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: use 1 or more")
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.transform, self.seed, self.epoch = transform, seed, 0

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
            order = order.to(self.x.device)
        else:
            order = torch.arange(n, device=self.x.device)
        self.epoch += 1
        for i in range(0, n, self.batch_size):
            idx = order[i : i + self.batch_size]
            xb = self.x[idx]
            yield (self.transform(xb) if self.transform else xb), self.y[idx]


def normaliser(mean: tuple[float, ...], std: tuple[float, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    """uint8 NCHW -> standardised float32, on the batch's device."""
    return lambda x: fast_cifar.normalize(x, mean, std)


def augmenter(mean, std, pad: int, flip: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """Random crop (reflect padding) and flip of whole uint8 batches, then standardisation."""
    norm = normaliser(mean, std)
    return lambda x: norm(fast_cifar.augment(x, pad, flip))


def synthetic(n: int, shape: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random uint8 images with a class-dependent brightness (smoke runs when no data is installed)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randint(0, 128, (n, *shape), generator=g) + 12 * y.view(-1, *[1] * len(shape))
    return x.clamp(0, 255).to(torch.uint8), y


def mnist_tensors(smoke: bool) -> dict:
    """MNIST as uint8 (N, 1, 28, 28) tensors; the note says when the training set is a subset."""
    n = 256 if smoke else None
    try:
        tr, te = bdata.load_mnist(True), bdata.load_mnist(False)
    except bdata.DatasetUnavailable:
        if not smoke:
            raise
        print("smoke: MNIST not installed, using synthetic images")
        return dict(
            train=synthetic(256, (1, 28, 28), 0), test=synthetic(128, (1, 28, 28), 1), note="synthetic"
        )
    xtr, ytr = tr.data.unsqueeze(1).contiguous(), tr.targets.clone()
    xte, yte = te.data.unsqueeze(1).contiguous(), te.targets.clone()
    note = "" if len(ytr) == 60_000 else f"training subset: {len(ytr):,} of the 60,000 MNIST training images"
    return dict(
        train=fast_cifar.subset(xtr, ytr, n),
        test=fast_cifar.subset(xte, yte, 128 if smoke else None),
        note=note,
    )


def cifar_tensors(smoke: bool) -> dict:
    """CIFAR-10 as uint8 (N, 3, 32, 32) tensors, decoded once and cached (``book.fast_cifar``)."""
    if not smoke:
        return dict(
            train=fast_cifar.load_cifar10_uint8(True), test=fast_cifar.load_cifar10_uint8(False), note=""
        )
    try:
        tr = bdata.subset(bdata.load_cifar10(True), 256)
        te = bdata.subset(bdata.load_cifar10(False), 128)
    except bdata.DatasetUnavailable:
        print("smoke: CIFAR-10 not installed, using synthetic images")
        return dict(
            train=synthetic(256, (3, 32, 32), 0), test=synthetic(128, (3, 32, 32), 1), note="synthetic"
        )
    return dict(
        train=fast_cifar.load_cifar10_uint8(True, dataset=tr, cache=False),
        test=fast_cifar.load_cifar10_uint8(False, dataset=te, cache=False),
        note="smoke subset",
    )


# ----------------------------------------------------------------------------- runs
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_plain_fit(name, model, d, mean, std, device, epochs, batch_size, lr, smoke) -> dict:
    """Chapter 05's recipe: ``book.train.fit`` with SGD + momentum, no augmentation."""
    seed_everything(0, deterministic=False)
    model = model.to(device)
    (xtr, ytr), (xte, yte) = (t.to(device) for t in d["train"]), (t.to(device) for t in d["test"])
    norm = normaliser(mean, std)
    train_batches = TensorBatches(xtr, ytr, batch_size, transform=norm)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sync(device)
    t0 = time.perf_counter()
    hist = train.fit(model, train_batches, None, nn.CrossEntropyLoss(), opt, epochs, verbose=False)
    sync(device)
    train_time = time.perf_counter() - t0
    _, acc = train.evaluate(model, TensorBatches(xte, yte, 1000, shuffle=False, transform=norm))
    recipe = dict(loop="book.train.fit", optimizer="SGD(momentum=0.9)", lr=lr, batch_size=batch_size)
    return row(name, model, d, epochs, acc, train_time, recipe, hist)


def run_trainer(name, model, d, mean, std, device, config: TrainConfig, pad: int, flip: bool) -> dict:
    """Chapter 06's recipe: ``book.trainer.Trainer`` with batch augmentation on the device."""
    seed_everything(0, deterministic=False)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    xtr, ytr = d["train"]
    xte, yte = d["test"]
    trainer = Trainer(
        model.to(device),
        torch.utils.data.TensorDataset(xtr, ytr),
        None,  # no model selection: a fixed recipe, the test set is evaluated once at the end
        config,
        batch_transform=augmenter(mean, std, pad, flip),
        eval_transform=normaliser(mean, std),
    )
    sync(device)
    t0 = time.perf_counter()
    hist = trainer.fit()
    sync(device)
    train_time = time.perf_counter() - t0
    _, acc = trainer.evaluate(torch.utils.data.TensorDataset(xte, yte))
    recipe = dict(loop="book.trainer.Trainer", pad=pad, flip=flip, **asdict(config))
    return row(name, trainer.model, d, config.epochs, acc, train_time, recipe, hist)


def row(name, model, d, epochs, acc, train_time, recipe, hist) -> dict:
    r = {
        "task": name,
        "params": models.count_parameters(model),
        "epochs": epochs,
        "test_acc": round(acc, 4),
        "train_time_s": round(train_time, 2),
        "train_images": len(d["train"][1]),
        "test_images": len(d["test"][1]),
        "note": d["note"],
        "recipe": recipe,
        "history": hist,
    }
    goal = GOALS.get(name)
    if goal:
        r["goal"] = goal
        r["goal_met"] = all(r[k] >= v if k == "test_acc" else r[k] <= v for k, v in goal.items())
    return r


def group_mnist(device, smoke) -> dict:
    d = mnist_tensors(smoke)
    mnist_stem = models.resnet18(10, "mnist", width=8 if smoke else 64)
    cfg = TrainConfig(
        epochs=1 if smoke else 8,
        batch_size=64 if smoke else 256,
        lr=0.2,
        schedule="onecycle",
        label_smoothing=0.1,
        channels_last=True,
        eval_batch_size=1000,
        progress=False,
        verbose=True,
    )
    return {
        "runs": [
            run_plain_fit(
                "mnist_lenet",
                models.LeNet(1, padding=2),
                d,
                MNIST_MEAN,
                MNIST_STD,
                device,
                epochs=1 if smoke else 15,
                batch_size=128,
                lr=0.05,
                smoke=smoke,
            ),
            run_trainer(
                "mnist_resnet18", mnist_stem, d, MNIST_MEAN, MNIST_STD, device, cfg, pad=2, flip=False
            ),
        ]
    }


def group_cifar10_cnn(device, smoke) -> dict:
    d = cifar_tensors(smoke)
    m, s = fast_cifar.CIFAR_MEAN, fast_cifar.CIFAR_STD
    cfg = TrainConfig(
        epochs=1 if smoke else 35,
        batch_size=64 if smoke else 512,
        lr=0.4 if not smoke else 0.05,
        weight_decay=5e-4,
        schedule="onecycle",
        label_smoothing=0.1,
        channels_last=True,
        eval_batch_size=1000,
        progress=False,
        verbose=True,
    )
    return {
        "runs": [
            run_plain_fit(
                "cifar10_lenet",
                models.LeNet(3),
                d,
                m,
                s,
                device,
                epochs=1 if smoke else 30,
                batch_size=128,
                lr=0.05,
                smoke=smoke,
            ),
            run_trainer(
                "cifar10_resnet18",
                models.resnet18(10, "cifar", width=8 if smoke else 64),
                d,
                m,
                s,
                device,
                cfg,
                pad=4,
                flip=True,
            ),
        ]
    }


ABLATIONS = {  # one trick of the fast recipe off at a time
    "full recipe": {},
    "no flip TTA": {"tta": False},
    "no label smoothing": {"label_smoothing": 0.0},
    "no whitening init": {"whiten": False},
    "no flip augmentation": {"flip": False},
    "no crop augmentation": {"pad": 0},
    "fp32 (no bf16 autocast)": {"amp": False},
    "no channels-last": {"channels_last": False},
}


def group_cifar10_fast(device, smoke, repeats: int) -> dict:
    d = cifar_tensors(smoke)
    (xtr, ytr), (xte, yte) = d["train"], d["test"]
    base = dict(amp=True, channels_last=True)
    if smoke:
        base.update(epochs=1, batch_size=128)
    rows = []
    for label, change in ABLATIONS.items():
        accs, times = [], []
        for rep in range(repeats if label == "full recipe" else 1):
            cfg = fast_cifar.FastConfig(**{**base, **change, "seed": rep})
            seed_everything(rep, deterministic=False)
            torch.backends.cudnn.benchmark = device.type == "cuda"
            model = fast_cifar.FastCifarNet(width=0.125 if smoke else 1.0).to(device)
            hist = fast_cifar.train(model, xtr, ytr, cfg, val_images=xte, val_labels=yte)
            accs.append(hist["val_acc"][-1])
            times.append(hist["train_time_s"])
        r = {
            "variant": label,
            "runs": len(accs),
            "test_acc": round(statistics.mean(accs), 4),
            "test_acc_std": round(statistics.stdev(accs), 4) if len(accs) > 1 else None,
            "train_time_s": round(statistics.median(times), 2),
            "epochs": cfg.epochs,
            "config": asdict(cfg),
        }
        print(f"  {label:28s} acc {r['test_acc']:.4f} ({r['runs']} runs)  train {r['train_time_s']:.1f} s")
        rows.append(r)
    first = rows[0]
    goal = GOALS["cifar10_fast"]
    return {
        "runs": rows,
        "goal": goal,
        "goal_met": first["test_acc"] >= goal["test_acc"] and first["train_time_s"] <= goal["train_time_s"],
        "train_images": len(ytr),
        "test_images": len(yte),
        "note": d["note"] + " (the first warm-up run includes cuDNN autotuning)" if not smoke else d["note"],
    }


def run_group(group: str, device: torch.device, smoke: bool, repeats: int) -> dict:
    print(f"== {group} on {device}{' (smoke: tiny sizes, meaningless numbers)' if smoke else ''}")
    if group == "mnist":
        return group_mnist(device, smoke)
    if group == "cifar10_cnn":
        return group_cifar10_cnn(device, smoke)
    return group_cifar10_fast(device, smoke, repeats)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "groups", nargs="+", choices=[*GROUPS, "all"], help="which results/<group>.json to produce"
    )
    p.add_argument("--smoke", action="store_true", help="tiny CPU run of every code path (also BOOK_SMOKE=1)")
    p.add_argument(
        "--repeats", type=int, default=None, help="runs of the full fast recipe (default 5; smoke 1)"
    )
    args = p.parse_args(argv)
    smoke = args.smoke or get_smoke()
    groups = list(GROUPS) if "all" in args.groups else list(dict.fromkeys(args.groups))
    if smoke:
        device = torch.device("cpu")
        torch.set_num_threads(1)  # the cores of a CI machine are shared
    elif not torch.cuda.is_available():
        print(
            "bench_cnn: no CUDA GPU found. These runs measure full-mode training on a GPU; on a CPU they would\n"
            "take hours. Run `make results` on a GPU machine (or Colab), or --smoke to check the code paths.",
            file=sys.stderr,
        )
        return 2
    else:
        device = torch.device("cuda")
    # The configuration these runs are: full mode (smoke: at tiny sizes), passed to book.results, which
    # records it and sends a smoke run's files to a scratch folder (unless $BOOK_RESULTS_DIR names one).
    reason = "bench_cnn.py --smoke" if smoke else "bench_cnn.py on a GPU"
    cfg = RunConfig(mode="full", device=device, reason=reason, smoke=smoke)
    repeats = args.repeats or (1 if smoke else 5)
    for group in groups:
        t0 = time.perf_counter()
        record = run_group(group, device, smoke, repeats)
        wall = time.perf_counter() - t0
        command = "python benchmarks/bench_cnn.py " + " ".join(argv if argv is not None else sys.argv[1:])
        path = results.write(group, record, command=command.strip(), wall_s=wall, cfg=cfg)
        print(f"-> {path} ({wall:.0f} s)")
        results.show(
            group,
            key="runs",
            columns=["task" if group != "cifar10_fast" else "variant", "test_acc", "train_time_s", "epochs"],
            cfg=cfg,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
