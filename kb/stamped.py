"""Files that keep a value between builds under a stamp of what it depends on.

Three caches use them: parsed front matter (:mod:`kb.model.frontmatter`), parsed
pages (:mod:`kb.rules.markdown`) and the pages' history (:mod:`kb.history`).  A
file written by other code, or one that cannot be read, counts as absent; a
file that cannot be written only costs time in the next build.  Pure Python,
so ``make check`` uses it too.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path
from typing import Any

#: What a damaged or foreign cache file raises while it is read.
UNREADABLE = (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError, pickle.UnpicklingError)


def load(path: Path | None, stamp: str) -> Any | None:
    """The value kept in *path* under *stamp*; None when there is none."""
    if path is None:
        return None
    try:
        with path.open("rb") as file:
            kept, value = pickle.load(file)
    except UNREADABLE:
        return None
    return value if kept == stamp else None


def save(path: Path, stamp: str, value: Any) -> None:
    """Keep *value* in *path* under *stamp*, written whole or not at all (parallel builds may race)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        with partial.open("wb") as file:
            pickle.dump((stamp, value), file, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)
