"""The progress callback every long-running call takes: ``progress(message, fraction 0..1)``.

Library code reports through it and never prints; the CLI draws a bar, the window a status line."""
from __future__ import annotations

from typing import Callable

Progress = Callable[[str, float], None]
