"""Replace a folder by a freshly written one so that a crash leaves one whole copy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def swap_in(new_dir: Path, target: Path) -> None:
    """Replace `target` by `new_dir` with a window of one rename; `recover_swap` heals that window."""
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new_dir, target)
    shutil.rmtree(old, ignore_errors=True)


def recover_swap(target: Path) -> None:
    """Finish a swap that a crash interrupted between its two renames."""
    old = target.with_name(target.name + ".old")
    if not target.exists() and old.exists():
        os.replace(old, target)
