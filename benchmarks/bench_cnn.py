"""Full-mode CNN benchmarks of the LeNet / ResNet chapters; each task writes ``results/<task>.json``.

    python benchmarks/bench_cnn.py                       # all tasks the data on this machine allows (GPU)
    python benchmarks/bench_cnn.py --tasks cifar10_fast cifar10_resnet18
    python benchmarks/bench_cnn.py --smoke               # seconds on a CPU: tiny data, writes to a temp dir

Without a CUDA GPU it exits with status 2 and says so (``--smoke`` excepted: it checks the code path,
and its numbers mean nothing). Each JSON holds: task, accuracy, wall time (training + evaluation, data
already on the GPU; data preparation timed separately), epochs, device, torch version, date, git commit,
the data used (e.g. the MNIST subset size) and the settings. The chapters render these files.

"Going faster" (the CIFAR-10 tasks): the whole data set lives on the GPU as one uint8 tensor; random
crops (pad 4 / translate) and flips are done there on whole batches; channels_last; bf16 autocast;
optional torch.compile; OneCycle LR; label smoothing; batch 512; horizontal-flip test-time augmentation.
The ablation tasks switch these off one at a time.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from book import data as bdata  # noqa: E402
from book import models  # noqa: E402
from book.utils import seed_everything  # noqa: E402

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


# ----------------------------------------------------------------------------- data on the GPU
def to_tensors(dataset):
    """All images of a (PIL-yielding) dataset as one uint8 NCHW tensor plus int64 labels."""
    import numpy as np

    xs, ys = [], []
    for i in range(len(dataset)):
        img, y = dataset[i]
        arr = np.asarray(img, dtype=np.uint8)
        xs.append(torch.from_numpy(arr.copy()).reshape(arr.shape[0], arr.shape[1], -1).permute(2, 0, 1))
        ys.append(y)
    return torch.stack(xs), torch.tensor(ys)


def load_task_data(name, limit_train=None, limit_test=None):
    if name == "cifar10":
        tr, te = bdata.load_cifar10(True), bdata.load_cifar10(False)
    else:
        tr, te = bdata.load_mnist(True), bdata.load_mnist(False)
    n_available = len(tr)
    # a random (seeded) subset when limited: ImageFolder lists the images class by class
    Xtr, ytr = to_tensors(bdata.subset(tr, limit_train))
    Xte, yte = to_tensors(bdata.subset(te, limit_test))
    return Xtr, ytr, Xte, yte, n_available


def normalise(x_uint8, mean, std):
    x = x_uint8.float().div_(255)
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def augment(x, crop_pad: int, flip: bool, gen):
    """Random translate (like pad-4 random crop, with zero fill) and flip, per image, on the device."""
    n = x.shape[0]
    if flip:
        mask = torch.rand(n, device=x.device, generator=gen) < 0.5
        x = torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)
    if crop_pad:
        padded = F.pad(x, (crop_pad,) * 4)
        h, w = x.shape[-2:]
        dx = torch.randint(0, 2 * crop_pad + 1, (n, 1), device=x.device, generator=gen)
        dy = torch.randint(0, 2 * crop_pad + 1, (n, 1), device=x.device, generator=gen)
        rows = dy + torch.arange(h, device=x.device)           # (n, h)
        cols = dx + torch.arange(w, device=x.device)           # (n, w)
        batch = torch.arange(n, device=x.device).view(n, 1, 1)
        x = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return x


# ----------------------------------------------------------------------------- Myrtle's ResNet-9
def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.f = nn.Sequential(conv_bn(c, c), conv_bn(c, c))

    def forward(self, x):
        return x + self.f(x)


def resnet9(num_classes=10, in_channels=3, width=64):
    w = width
    return nn.Sequential(
        conv_bn(in_channels, w),
        conv_bn(w, 2 * w), nn.MaxPool2d(2), Residual(2 * w),
        conv_bn(2 * w, 4 * w), nn.MaxPool2d(2),
        conv_bn(4 * w, 8 * w), nn.MaxPool2d(2), Residual(8 * w),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * w, num_classes, bias=False),
    )


# ----------------------------------------------------------------------------- one training run
def train_resident(model, Xtr, ytr, Xte, yte, *, mean, std, epochs, batch_size=512, lr=0.2, wd=5e-4,
                   label_smoothing=0.2, crop_pad=4, flip=True, tta=True, amp=True, channels_last=True,
                   compile_model=False, onecycle=True, device="cuda", seed=0):
    seed_everything(seed, deterministic=False)
    torch.backends.cudnn.benchmark = True
    model = model.to(device)
    mf = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=mf)
    run_model = torch.compile(model) if compile_model else model
    Xtr, ytr, Xte, yte = Xtr.to(device), ytr.to(device), Xte.to(device), yte.to(device)
    Xtr_f = normalise(Xtr, mean, std).contiguous(memory_format=mf)
    Xte_f = normalise(Xte, mean, std).contiguous(memory_format=mf)
    steps = math.ceil(len(ytr) / batch_size) * epochs
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25)
             if onecycle else None)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    gen = torch.Generator(device=device).manual_seed(seed)
    ac = torch.autocast(device_type="cuda" if str(device).startswith("cuda") else "cpu", dtype=torch.bfloat16,
                        enabled=amp)
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), device=device, generator=gen)
        for i in range(0, len(ytr), batch_size):
            idx = perm[i:i + batch_size]
            xb = augment(Xtr_f[idx], crop_pad, flip, gen).contiguous(memory_format=mf)
            with ac:
                loss = loss_fn(run_model(xb).float(), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
    model.eval()
    correct = 0
    with torch.no_grad(), ac:
        for i in range(0, len(yte), 1024):
            xb = Xte_f[i:i + 1024]
            logits = run_model(xb).float()
            if tta:
                logits = logits + run_model(xb.flip(-1)).float()
            correct += (logits.argmax(1) == yte[i:i + 1024]).sum().item()
    sync()
    return correct / len(yte), time.perf_counter() - t0


# ----------------------------------------------------------------------------- tasks
def fast_defaults():
    return dict(epochs=10, batch_size=512, lr=0.2, label_smoothing=0.2, tta=True, amp=True, channels_last=True,
                compile_model=False, onecycle=True)


def task_specs():
    specs = {
        "mnist_resnet18": dict(data="mnist", model=lambda w=64: models.resnet18(10, "mnist", width=w), mean=(0.1307,),
                               std=(0.3081,), settings=dict(fast_defaults(), epochs=8, lr=0.1, flip=False,
                                                            tta=False, label_smoothing=0.1, crop_pad=2)),
        "cifar10_fast": dict(data="cifar10", model=lambda w=64: resnet9(width=w), mean=CIFAR_MEAN, std=CIFAR_STD,
                             settings=fast_defaults()),
        "cifar10_fast_compile": dict(data="cifar10", model=lambda w=64: resnet9(width=w), mean=CIFAR_MEAN, std=CIFAR_STD,
                                     settings=dict(fast_defaults(), compile_model=True)),
        "cifar10_resnet18": dict(data="cifar10", model=lambda w=64: models.resnet18(10, "cifar", width=w), mean=CIFAR_MEAN,
                                 std=CIFAR_STD, settings=dict(fast_defaults(), epochs=30, lr=0.1,
                                                              label_smoothing=0.1)),
        "cifar10_resnet18_imagenet_stem": dict(data="cifar10", model=lambda w=64: models.resnet18(10, "imagenet", width=w),
                                               mean=CIFAR_MEAN, std=CIFAR_STD,
                                               settings=dict(fast_defaults(), epochs=30, lr=0.1,
                                                             label_smoothing=0.1)),
    }
    # ablations of cifar10_fast: one trick off at a time
    for name, change in {"no_tta": dict(tta=False), "no_label_smoothing": dict(label_smoothing=0.0),
                         "fp32": dict(amp=False), "no_channels_last": dict(channels_last=False),
                         "no_onecycle": dict(onecycle=False, lr=0.05), "batch128": dict(batch_size=128, lr=0.1)}.items():
        specs[f"cifar10_ablation_{name}"] = dict(data="cifar10", model=lambda w=64: resnet9(width=w), mean=CIFAR_MEAN,
                                                 std=CIFAR_STD, settings=dict(fast_defaults(), **change))
    return specs


def run_tinyimagenet(out_dir: Path, smoke: bool):
    """Fine-tune ImageNet-pretrained ResNet50 on Tiny ImageNet with book.train.Trainer (DataLoader workers,
    bf16, channels_last, cosine LR, label smoothing). The notes: 224 px, 25 epochs, 4.5 h, 80.14%."""
    import torchvision.transforms as T

    from book import tinyimagenet as tin
    from book import train

    if smoke:
        tmp = Path(tempfile.mkdtemp(prefix="tiny_smoke_"))
        zip_path = tin.make_fake_archive(tmp / tin.TINY_ZIP, n_classes=4, n_train=8, n_val=2, size=32)
        root = tin.get_tiny_imagenet(tmp, md5=bdata.md5sum(zip_path))
    else:
        try:
            root = tin.get_tiny_imagenet()
        except bdata.DatasetUnavailable as exc:
            print(f"tinyimagenet_resnet50: skipped, data unavailable:\n{exc}")
            return
    size = 32 if smoke else 160
    norm = T.Normalize(tin.IMAGENET_MEAN, tin.IMAGENET_STD)
    tr = tin.TinyImageNet(root, "train", T.Compose([T.RandomResizedCrop(size, scale=(0.35, 1)),
                                                    T.RandomHorizontalFlip(), T.ToTensor(), norm]))
    va = tin.TinyImageNet(root, "val", T.Compose([T.Resize(size), T.ToTensor(), norm]))
    model, how = models.resnet50_for_finetune(len(tr.classes), pretrained=not smoke)
    print("ResNet50:", how)
    cfg = train.TrainConfig(epochs=2 if smoke else 6, batch_size=16 if smoke else 256, lr=0.05 if not smoke else 0.01,
                            schedule="onecycle", label_smoothing=0.1, amp=True, channels_last=True,
                            num_workers=0 if smoke else 12, eval_batch_size=512, progress=False)
    device = "cuda" if torch.cuda.is_available() and not smoke else "cpu"
    t0 = time.perf_counter()
    trainer = train.Trainer(model, tr, va, cfg, device=device)
    hist = trainer.fit()
    wall = time.perf_counter() - t0
    record = {"task": "tinyimagenet_resnet50", "accuracy": round(max(hist["val_acc"]), 4),
              "final_accuracy": round(hist["val_acc"][-1], 4), "wall_time_s": round(wall, 2), "epochs": cfg.epochs,
              "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "torch": torch.__version__,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": git_commit(), "train_images": len(tr), "test_images": len(va), "smoke": smoke,
              "weights": how, "settings": {"image_size": size, "batch_size": cfg.batch_size, "lr": cfg.lr,
                                           "schedule": cfg.schedule, "label_smoothing": cfg.label_smoothing},
              "note": "includes data loading (JPEG decoding with DataLoader workers)"}
    (out_dir / "tinyimagenet_resnet50.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"tinyimagenet_resnet50 acc {record['accuracy']:.4f}  {wall:.1f} s")


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


def run_tasks(names, out_dir: Path, smoke: bool):
    device = "cuda" if torch.cuda.is_available() and not smoke else "cpu"
    specs = task_specs()
    cache = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        spec = specs[name]
        t0 = time.perf_counter()
        if spec["data"] not in cache:
            limit = (256, 256) if smoke else (None, None)
            cache[spec["data"]] = load_task_data(spec["data"], *limit)
        Xtr, ytr, Xte, yte, n_available = cache[spec["data"]]
        prep = time.perf_counter() - t0
        settings = dict(spec["settings"])
        if smoke:
            settings.update(epochs=2, batch_size=64, compile_model=False, amp=False, channels_last=False)
        model = spec["model"](8 if smoke else 64)
        acc, wall = train_resident(model, Xtr, ytr, Xte, yte, mean=spec["mean"], std=spec["std"], device=device,
                                   **settings)
        record = {
            "task": name, "accuracy": round(acc, 4), "wall_time_s": round(wall, 2), "data_prep_s": round(prep, 2),
            "epochs": settings["epochs"], "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "torch": torch.__version__, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(), "train_images": len(ytr), "train_images_available": n_available,
            "test_images": len(yte), "smoke": smoke,
            "settings": {k: v for k, v in settings.items()},
            "note": ("MNIST training subset (offline copy: 17,435 of 60,000 images)"
                     if spec["data"] == "mnist" and n_available < 60000 else ""),
        }
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"{name:40s} acc {acc:.4f}  train+eval {wall:7.1f} s  ({settings['epochs']} epochs, {record['device']}) -> {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="*", default=None,
                   help=f"default: all of {sorted(task_specs()) + ['tinyimagenet_resnet50']}")
    p.add_argument("--out", default=str(ROOT / "results"))
    p.add_argument("--smoke", action="store_true", help="tiny CPU run of every code path (results are meaningless)")
    args = p.parse_args(argv)
    all_tasks = sorted(task_specs()) + ["tinyimagenet_resnet50"]
    names = args.tasks or all_tasks
    unknown = set(names) - set(all_tasks)
    if unknown:
        p.error(f"unknown tasks {sorted(unknown)}")
    if args.smoke:
        out = Path(tempfile.mkdtemp(prefix="bench_cnn_smoke_"))
        print(f"smoke run on the CPU: tiny data, 2 epochs; results go to {out}, not to results/")
        run_tasks([n for n in names if n in task_specs()], out, smoke=True)
        if "tinyimagenet_resnet50" in names:
            run_tinyimagenet(out, smoke=True)
        return 0
    if not torch.cuda.is_available():
        print("bench_cnn: no CUDA GPU found. These benchmarks measure full-mode training speed on a GPU;\n"
              "on a CPU they would take hours and say nothing about the goals (e.g. CIFAR-10 >= 94% in <= 30 s).\n"
              "Run on a GPU machine (or Colab), or use --smoke to check the code path.", file=sys.stderr)
        return 2
    run_tasks([n for n in names if n in task_specs()], Path(args.out), smoke=False)
    if "tinyimagenet_resnet50" in names:
        run_tinyimagenet(Path(args.out), smoke=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
