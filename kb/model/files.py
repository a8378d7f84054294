"""Which files are content: only those inside the repository.

Sphinx follows symbolic links, so a link in ``posts/`` to a file anywhere on
the machine would be published.  Every link below the site's root that leads
outside it (or nowhere) is reported, naming the link and its target, and the
build leaves it out (:func:`kb.content.derive_settings`).
"""

from __future__ import annotations

import os
from pathlib import Path

from kb.model.schema import Problem

#: Folders that hold no content: the build's output, tools, the test suite.
NOT_CONTENT = frozenset({"_build", ".venv", "tests", "node_modules", ".git"})
#: What the site reads as content (figures and includes are checked where they are used).
CONTENT_SUFFIXES = frozenset({".md", ".yaml"})


def _target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"


def outside_links(root: Path, problems: list[Problem]) -> set[str]:
    """Links to content or folders that lead outside *root*, each reported once (paths relative to *root*)."""
    top = root.resolve()
    refused: set[str] = set()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in NOT_CONTENT and not d.startswith("."))
        for name in [*dirs, *(f for f in sorted(files) if Path(f).suffix.lower() in CONTENT_SUFFIXES)]:
            path = here / name
            if not path.is_symlink():
                continue
            resolved = path.resolve()
            if resolved == top or top in resolved.parents:
                continue
            rel = path.relative_to(root).as_posix()
            refused.add(rel)
            what = "folder" if name in dirs else "file"
            problems.append(
                Problem(
                    rel,
                    1,
                    f"this {what} is a link to {_target(path)}, outside the repository: it is not published",
                    f"copy the {what} into the repository, or delete the link",
                    "policy",
                )
            )
        dirs[:] = [d for d in dirs if (here / d).relative_to(root).as_posix() not in refused]
    return refused


def is_refused(rel: str, refused: set[str]) -> bool:
    """True if *rel* is a refused link or lies in a refused folder."""
    return rel in refused or any(rel.startswith(f"{folder}/") for folder in refused)


def files_below(root: Path, folder: str, refused: set[str]) -> list[Path]:
    """Every file below *folder*, sorted, following links inside the repository as
    Sphinx does (each folder once), without refused links and what they hold."""
    found: list[Path] = []
    visited: set[Path] = set()
    for here, dirs, files in os.walk(root / folder, followlinks=True):
        place = Path(here)
        real = place.resolve()
        if real in visited:  # a link back up the tree
            dirs[:] = []
            continue
        visited.add(real)
        if refused:  # rarely: a link out of the repository has been reported
            dirs[:] = [d for d in dirs if not is_refused((place / d).relative_to(root).as_posix(), refused)]
            files = [f for f in files if not is_refused((place / f).relative_to(root).as_posix(), refused)]
        found += (place / f for f in files)
    return sorted(found)
