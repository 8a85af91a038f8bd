"""Shared code of the book "AI中的编程 (Programming in AI)".

Notebooks start with ``import book; cfg = book.setup()``, which prints the run mode and device.
Modules: ``env`` (mode, device), ``utils`` (seeding, timer), ``data`` (datasets), ``plot``, ``train``.
"""
from .env import RunConfig, best_device, describe_hardware, get_config, get_mode, setup
from .utils import Timer, seed_everything

__all__ = ["RunConfig", "Timer", "best_device", "describe_hardware", "get_config", "get_mode",
           "seed_everything", "setup"]
