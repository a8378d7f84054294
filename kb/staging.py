"""``make html``: build into a staging folder; publish it only when the build succeeded.

``_build/html`` always holds the last good site, so copying it to a server (or
CI uploading it) never publishes a half-built one.  Sphinx builds into
``_build/stage/html``, which stays between builds so that rebuilds stay
incremental.  When the build succeeds with no warning, a copy of it replaces
``_build/html`` in one step (the two folders are exchanged by one
``renameat2`` call, where the system has it; two renames otherwise), and the
old site is removed.  When it fails, ``_build/html`` is left exactly as it was
and the build ends with one line: ``N problems; first: file:line: message``.

Usage: ``python -m kb.staging [sphinx-build options]`` from the site's folder.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

BUILD = Path("_build")
STAGE = BUILD / "stage" / "html"
DOCTREES = BUILD / "doctrees"
SITE = BUILD / "html"
WARNINGS = BUILD / "stage" / "warnings.txt"

#: A warning line as Sphinx writes it to ``--warning-file``.
_WARNING = re.compile(r"^(?:(?P<where>.*?): )?(?:WARNING|ERROR|CRITICAL): (?P<message>.*)$")
#: The flag of ``renameat2`` that swaps two paths in one step (linux/fs.h).
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def problems(log: str, root: Path) -> list[str]:
    """Each warning of a build log as ``file:line: message``, paths relative to *root*."""
    found = []
    prefix = f"{root.resolve()}{os.sep}"
    for line in log.splitlines():
        match = _WARNING.match(line)
        if not match:
            continue
        where = (match.group("where") or "").replace(prefix, "")
        message = re.sub(r" \[[\w.-]+\]$", "", match.group("message"))
        found.append(f"{where}: {message}" if where else message)
    return found


def summary(found: list[str]) -> str:
    """The one line a failed build ends with."""
    count = f"{len(found)} problem{'s' if len(found) != 1 else ''}"
    return f"{count}; first: {found[0]}" if found else "the build failed; the messages above say why"


def exchange(new: Path, old: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2``); False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(AT_FDCWD, os.fsencode(new), AT_FDCWD, os.fsencode(old), RENAME_EXCHANGE)
    return done == 0


def publish(stage: Path, site: Path) -> None:
    """Replace *site* by a copy of *stage* in one step; the old site is then removed."""
    fresh = site.with_name(f".{site.name}.new-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    # A copy, not links: the next build rewrites the staging folder's files in place.
    shutil.copytree(stage, fresh, symlinks=True)
    if not site.exists():
        fresh.rename(site)
        return
    if not exchange(fresh, site):
        retired = site.with_name(f".{site.name}.old-{os.getpid()}")
        site.rename(retired)
        fresh.rename(site)
        fresh = retired
    shutil.rmtree(fresh, ignore_errors=True)


def build(options: Sequence[str], root: Path = Path()) -> int:
    """Build into the staging folder and publish it if the build succeeded; the exit status."""
    stage, doctrees, warnings = root / STAGE, root / DOCTREES, root / WARNINGS
    stage.mkdir(parents=True, exist_ok=True)
    warnings.unlink(missing_ok=True)
    command = [sys.executable, "-m", "sphinx", *options, "-b", "html", "-d", str(doctrees), "-w", str(warnings)]
    status = subprocess.run([*command, str(root), str(stage)], check=False).returncode
    log = warnings.read_text(encoding="utf-8", errors="replace") if warnings.exists() else ""
    found = problems(log, root)
    if status != 0 or found:
        print(summary(found), file=sys.stderr)
        print(f"{root / SITE} is unchanged: it still holds the last site that built without problems.", file=sys.stderr)
        return status or 1
    publish(stage, root / SITE)
    print(f"published {root / SITE}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return build(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
