"""Fast CIFAR-10 training, airbench-style (chapter 06 and ``benchmarks/bench_cnn.py``).

Three ideas make CIFAR-10 training fast on any device:

* the data set is decoded ONCE into one ``uint8`` tensor (50,000 x 3 x 32 x 32 = 150 MB) and cached on
  disk, so no epoch ever decodes a JPEG again and the whole set can live on the GPU;
* augmentation (random crop with padding, horizontal flip) is done on whole batches of tensors, on the
  device where the data lives, instead of image by image in ``DataLoader`` workers;
* a small, wide-and-shallow network (after Keller Jordan's *airbench*): a 2x2 patch conv, three blocks of
  conv -> max-pool -> BatchNorm -> GELU -> conv -> BatchNorm -> GELU, global max-pool, a linear head;
  trained with SGD + Nesterov, label smoothing, a linear warm-up/decay schedule, and flip test-time
  augmentation. ``width`` scales every layer (quick mode on a CPU uses a quarter of the widths).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .data import subset_indices
from .files import atomic_path, remove_stale_temps
from .train import autocast

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
BASE_WIDTHS = (64, 256, 256)
CACHE_VERSION = 2  # 2: images in book.data.cifar10_order (classes mixed)


# ----------------------------------------------------------------------------- data: decode once
def _decode_dataset(ds) -> tuple[torch.Tensor, torch.Tensor]:
    """All images of a CIFAR-10 dataset from ``book.data.load_cifar10`` as uint8 NCHW + int64 labels."""
    if hasattr(ds, "data") and hasattr(ds, "targets") and not hasattr(ds, "samples"):
        # torchvision's CIFAR10: the images are already one uint8 array (N, 32, 32, 3)
        x = torch.as_tensor(ds.data).permute(0, 3, 1, 2).contiguous()
        return x, torch.as_tensor(ds.targets, dtype=torch.int64)
    if hasattr(ds, "samples"):  # ImageFolder of JPEG/PNG files: decode the bytes with torchvision.io
        import warnings

        with warnings.catch_warnings():  # torchvision.io's decoders warn that TorchCodec supersedes them
            warnings.simplefilter("ignore", DeprecationWarning)
            from torchvision.io import ImageReadMode, decode_image, read_file

            xs = [decode_image(read_file(str(p)), mode=ImageReadMode.RGB) for p, _ in ds.samples]
        ys = [label for _, label in ds.samples]
    else:  # any dataset yielding (PIL image, label)
        import numpy as np

        xs, ys = [], []
        for i in range(len(ds)):
            img, label = ds[i]
            arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
            xs.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
            ys.append(int(label))
    if not xs:
        raise ValueError("the CIFAR-10 dataset is empty: check BOOK_DATA_DIR and the extracted files")
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"images of different shapes {sorted(shapes)[:3]}: expected 3x32x32 CIFAR images")
    return torch.stack(xs), torch.tensor(ys, dtype=torch.int64)


def _source_key(ds) -> str:
    """A fingerprint of where the images come from (files, sizes, mtimes), for the cache file name."""
    h = hashlib.sha1(f"v{CACHE_VERSION}|{type(ds).__name__}|{len(ds)}".encode())
    if hasattr(ds, "samples"):
        for p, label in ds.samples:
            st = os.stat(p)
            h.update(f"{p}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    elif hasattr(ds, "root"):
        h.update(str(Path(ds.root).resolve()).encode())
    return h.hexdigest()[:16]


def save_atomic(obj: object, path: str | os.PathLike) -> Path:
    """``torch.save`` to ``path`` atomically (:func:`book.files.atomic_path`; chapter 06's caches)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_cifar10_uint8(
    train: bool = True,
    root: str | os.PathLike | None = None,
    cache: bool = True,
    dataset: torch.utils.data.Dataset | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 as ``(images uint8 (N, 3, 32, 32), labels int64 (N,))``, decoded once (chapter 06).

    The images come from ``book.data.load_cifar10(train, root)`` (or ``dataset`` if given), in that
    dataset's order (``load_cifar10``'s is :func:`book.data.cifar10_order`: classes mixed); the decoded
    tensor is cached under ``book.paths.cache_dir("cifar10-uint8")``, written atomically, and keyed by
    the source files' names, sizes and modification times, so a changed data folder is decoded again.
    """
    if dataset is None:
        from . import data

        dataset = data.load_cifar10(train=train, root=root)
    if not cache:
        return _decode_dataset(dataset)
    from .paths import cache_dir

    split = "train" if train else "test"
    path = cache_dir("cifar10-uint8") / f"{split}-{_source_key(dataset)}.pt"
    remove_stale_temps(path.parent)  # half-written cache files of killed runs
    if path.is_file():
        try:
            state = torch.load(path, weights_only=True)
            x, y = state["images"], state["labels"]
            if x.dtype == torch.uint8 and x.ndim == 4 and len(x) == len(y) == len(dataset):
                return x, y
        except Exception:  # noqa: BLE001 - a damaged cache file is decoded again and replaced
            pass
    x, y = _decode_dataset(dataset)
    save_atomic({"images": x, "labels": y}, path)
    return x, y


# ----------------------------------------------------------------------------- batch augmentation
def normalize(
    x: torch.Tensor, mean: Sequence[float] = CIFAR_MEAN, std: Sequence[float] = CIFAR_STD
) -> torch.Tensor:
    """uint8 (or float in [0, 255]) NCHW images -> float32, per-channel standardised (chapter 06)."""
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1) * 255
    s = torch.tensor(std, device=x.device).view(1, -1, 1, 1) * 255
    return (x.float() - m) / s


def batch_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flip a random half of the batch left-right, all at once (chapter 06)."""
    mask = torch.rand(len(x), generator=generator, device=_gen_device(generator, x))
    mask = (mask < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(mask, x.flip(-1), x)


def batch_crop(x: torch.Tensor, pad: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crops of the padded batch (``RandomCrop(H, padding=pad)``), one gather (chapter 06).

    Each image gets its own shift; pixels shifted in from outside are reflections of the border.
    """
    if pad == 0:
        return x
    n, _, h, w = x.shape
    xp = F.pad(x if x.is_floating_point() else x.float(), (pad,) * 4, mode="reflect").to(x.dtype)
    dev = _gen_device(generator, x)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=dev).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=dev).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (n, 1, 1, w)
    idx = torch.arange(n, device=x.device)[:, None, None, None]
    ch = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return xp[idx, ch, rows, cols]


def _gen_device(generator: torch.Generator | None, x: torch.Tensor) -> torch.device:
    return generator.device if generator is not None else x.device


def augment(
    x: torch.Tensor, pad: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Batch augmentation of chapter 06: random crop with padding, then random horizontal flip."""
    x = batch_crop(x, pad, generator)
    return batch_flip(x, generator) if flip else x


# ----------------------------------------------------------------------------- the network
class ConvBlock(nn.Module):
    """conv3x3 -> max-pool 2 -> BN -> GELU -> conv3x3 -> BN -> GELU (one airbench block; chapter 06)."""

    def __init__(self, c_in: int, c_out: int, bn_momentum: float = 0.4):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out, momentum=bn_momentum)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, momentum=bn_momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.bn1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.bn2(self.conv2(x)))


class FastCifarNet(nn.Module):
    """The airbench-style CIFAR-10 network of chapter 06; ``width`` scales (64, 256, 256) channels.

    32x32 -> 2x2 patch conv (24 channels, 31x31) -> 3 blocks (15, 7, 3) -> global max-pool -> linear.
    The head's logits are scaled by ``1/9`` (as in airbench), which keeps early training stable.
    """

    def __init__(self, width: float = 1.0, num_classes: int = 10, widths: Sequence[int] | None = None):
        super().__init__()
        if widths is None:
            if width <= 0:
                raise ValueError(f"width must be > 0, got {width}")
            widths = [max(8, int(round(c * width))) for c in BASE_WIDTHS]
        if len(widths) != 3:
            raise ValueError(f"widths needs 3 numbers (one per block), got {list(widths)}")
        self.widths = tuple(int(c) for c in widths)
        self.stem = nn.Conv2d(3, 24, 2, bias=True)
        self.blocks = nn.Sequential(
            ConvBlock(24, self.widths[0]),
            ConvBlock(self.widths[0], self.widths[1]),
            ConvBlock(self.widths[1], self.widths[2]),
        )
        self.head = nn.Linear(self.widths[2], num_classes, bias=False)
        self.scale = 1 / 9

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.stem(x))
        x = self.blocks(x)
        x = torch.amax(x, dim=(2, 3))
        return self.head(x) * self.scale

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor, eps: float = 5e-4) -> None:
        """Set the 2x2 stem to whiten patches of ``images`` (normalised NCHW float), as airbench does.

        The 12-dimensional 2x2x3 patches get the eigenvectors of their covariance, scaled by
        ``1/sqrt(eigenvalue)``, once as ``+v`` and once as ``-v`` (24 filters); the stem then stays frozen.
        """
        patches = images.float().unfold(2, 2, 1).unfold(3, 2, 1)  # N, C, H', W', 2, 2
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 12).double()
        patches = patches - patches.mean(0)
        cov = patches.T @ patches / len(patches)
        evals, evecs = torch.linalg.eigh(cov)
        filters = (evecs.T / torch.sqrt(evals + eps)[:, None]).reshape(12, 3, 2, 2)
        w = torch.cat([filters, -filters]).to(self.stem.weight)
        self.stem.weight.copy_(w)
        self.stem.bias.zero_()
        self.stem.weight.requires_grad_(False)
        self.stem.bias.requires_grad_(False)


# ----------------------------------------------------------------------------- training
@dataclass
class FastConfig:
    """Settings of :func:`train` (chapter 06, ``benchmarks/bench_cnn.py``)."""

    epochs: float = 10.0
    batch_size: int = 512
    lr: float = 0.2  # peak SGD learning rate for the summed (not averaged) per-batch loss / batch_size
    momentum: float = 0.85
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    warmup: float = 0.2  # fraction of the steps spent rising linearly to ``lr``
    pad: int = 4
    flip: bool = True
    whiten: bool = True
    tta: bool = True  # flip test-time augmentation in evaluate
    channels_last: bool = False
    amp: bool = False  # bf16 autocast; only used on CUDA
    seed: int = 0
    eval_every: int = 0  # evaluate on the validation set every N epochs (0: only at the end)
    extras: dict = field(default_factory=dict)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    tta: bool = True,
    batch_size: int = 1000,
    amp: bool = False,
    channels_last: bool = False,
) -> float:
    """Accuracy of ``model`` on uint8 ``images``, optionally with flip TTA (chapter 06).

    The inputs go to the device of the model's parameters; ``tta`` sums the logits of the images and
    of their left-right flipped copies.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        x = normalize(images[i : i + batch_size].to(device, non_blocking=True))
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = labels[i : i + batch_size].to(device, non_blocking=True)
        with autocast(device, amp):
            logits = model(x).float()
            if tta:
                logits = logits + model(x.flip(-1)).float()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return correct / max(1, len(images))


def lr_factor(step: int, total: int, warmup: float) -> float:
    """Linear warm-up over ``warmup * total`` steps, then linear decay to 0 (chapter 06)."""
    w = max(1, int(round(warmup * total)))
    if step < w:
        return (step + 1) / w
    return max(0.0, (total - step) / max(1, total - w))


def train(
    model: nn.Module,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    config: FastConfig | None = None,
    val_images: torch.Tensor | None = None,
    val_labels: torch.Tensor | None = None,
    callback: Callable[[dict], None] | None = None,
) -> dict:
    """Train ``model`` on uint8 images (on the device of its parameters); returns the history (ch. 06).

    The training set is moved once to the model's device; each epoch shuffles it with a seeded
    generator and augments whole batches there. ``epochs`` may be fractional (the last epoch is cut).
    History: ``train_loss``, ``train_acc`` per epoch, ``val_acc`` (when a validation set is given and
    evaluated), ``epoch_time_s`` and ``train_time_s`` (training only, not the evaluations).
    """
    cfg = config or FastConfig()
    if len(train_images) != len(train_labels):
        raise ValueError(f"{len(train_images)} images but {len(train_labels)} labels")
    if train_images.dtype != torch.uint8 or train_images.ndim != 4:
        raise ValueError(
            f"train_images must be uint8 (N, 3, H, W), got {train_images.dtype} {tuple(train_images.shape)}"
            " (use load_cifar10_uint8)"
        )
    device = next(model.parameters()).device
    torch.manual_seed(cfg.seed)
    x_all = train_images.to(device)
    y_all = train_labels.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if cfg.whiten and isinstance(model, FastCifarNet):
        g = torch.Generator().manual_seed(cfg.seed)
        idx = torch.randperm(len(x_all), generator=g)[:5000].to(device)
        model.init_whitening(normalize(x_all[idx]))
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    bs = min(cfg.batch_size, len(x_all))
    # the loss is summed over the batch, so weight decay is scaled by the batch size to match
    opt = torch.optim.SGD(
        [
            {"params": decay, "weight_decay": cfg.weight_decay * bs},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr / bs,
        momentum=cfg.momentum,
        nesterov=cfg.nesterov,
    )
    base_lrs = [g["lr"] for g in opt.param_groups]
    steps_per_epoch = len(x_all) // bs
    if steps_per_epoch == 0:
        raise ValueError(f"batch size {bs} is larger than the training set ({len(x_all)})")
    total = max(1, int(math.ceil(cfg.epochs * steps_per_epoch)))
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    hist: dict = {"train_loss": [], "train_acc": [], "val_acc": [], "epoch_time_s": []}
    step, epoch = 0, 0
    model.train()
    t_train = 0.0
    while step < total:
        epoch += 1
        sync(device)
        t0 = time.perf_counter()
        perm = torch.randperm(len(x_all), generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        seen = 0
        for b in range(steps_per_epoch):
            if step >= total:
                break
            idx = perm[b * bs : (b + 1) * bs]
            x = augment(x_all[idx], cfg.pad, cfg.flip, gen)
            x = normalize(x)
            if cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = y_all[idx]
            for g, base in zip(opt.param_groups, base_lrs):
                g["lr"] = base * lr_factor(step, total, cfg.warmup)
            with autocast(device, cfg.amp):
                logits = model(x)
                loss = F.cross_entropy(
                    logits.float(), y, label_smoothing=cfg.label_smoothing, reduction="sum"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            correct += (logits.detach().argmax(1) == y).sum()
            seen += len(y)
            step += 1
        sync(device)
        dt = time.perf_counter() - t0
        t_train += dt
        hist["epoch_time_s"].append(dt)
        hist["train_loss"].append(loss_sum.item() / max(1, seen))
        hist["train_acc"].append(correct.item() / max(1, seen))
        last = step >= total
        if val_images is not None and (last or (cfg.eval_every and epoch % cfg.eval_every == 0)):
            acc = evaluate(
                model, val_images, val_labels, cfg.tta, amp=cfg.amp, channels_last=cfg.channels_last
            )
            hist["val_acc"].append(acc)
        if callback is not None:
            callback({"epoch": epoch, "step": step, **{k: v[-1] for k, v in hist.items() if v}})
    hist["train_time_s"] = t_train
    hist["config"] = asdict(cfg)
    return hist


def sync(device: torch.device) -> None:
    """Wait for queued kernels on ``device`` (CUDA) so that a clock reads real time (chapter 06)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def split_train_val(
    images: torch.Tensor, labels: torch.Tensor, n_val: int, seed: int = 0
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Hold out ``n_val`` random (seeded) training images as a validation set (chapters 05, 06)."""
    if not 0 < n_val < len(images):
        raise ValueError(f"n_val must be between 1 and {len(images) - 1}, got {n_val}")
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    tr, va = perm[n_val:], perm[:n_val]
    return (images[tr], labels[tr]), (images[va], labels[va])


def subset(
    images: torch.Tensor, labels: torch.Tensor, n: int | None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` of a seeded permutation (all of it when ``n`` is None) (chapter 06): the same
    items as :func:`book.data.subset` picks from a dataset of these tensors."""
    idx = subset_indices(len(images), n, seed)
    return (images, labels) if idx is None else (images[idx], labels[idx])
