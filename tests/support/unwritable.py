"""A folder no file can be created in, for the tests that check a failed write loses nothing."""
from __future__ import annotations

import os
from pathlib import Path


def unwritable_folder(tmp_path: Path) -> Path:
    """A read-only folder under tmp_path (``locked``, mode 0o500); as root, who writes anywhere on
    disk, /sys/kernel, where sysfs refuses new files even to root."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder
