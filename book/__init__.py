"""Shared code of the book "AI中的编程 (Programming in AI)".

Notebooks start with ``import book; cfg = book.setup()``, which prints the run mode and device.
Modules: ``env`` (mode, device), ``paths`` (where things live), ``utils`` (seeding, timer), ``source``
(showing code), ``data`` (datasets), ``plot``, ``train`` (the plain loop), ``trainer`` (the resumable
``Trainer``), ``models``, ``cuda``, ``autograd``, ``dist``.
"""

from .env import RunConfig, best_device, describe_hardware, get_config, get_mode, setup
from .source import show_source
from .utils import Timer, seed_everything

__all__ = [
    "RunConfig",
    "Timer",
    "best_device",
    "describe_hardware",
    "get_config",
    "get_mode",
    "seed_everything",
    "setup",
    "show_source",
]
