"""Workarounds for CPython itself, written for CPython 3.11 to 3.13."""

from __future__ import annotations

import atexit
import gc
from typing import TYPE_CHECKING

from kb.upstream import require

if TYPE_CHECKING:
    from sphinx.application import Sphinx

#: The releases this workaround was written for (3.14 collects incrementally).
PYTHON = "Python>=3.11,<3.14"

#: Collect the youngest generation after 50,000 new objects instead of 700.
#: (mypy builds with 200,000, mypy/build.py; at 1,000 posts that was no faster
#: here and took a third more memory.)
GC_THRESHOLDS = (50_000, 10, 10)


def collect_garbage_less_often(app: Sphinx) -> None:
    """Run the cyclic garbage collector less often during a build, and not at exit.

    CPython's collector runs after every 700 new objects and then walks the
    young objects, and from time to time every object.  A build creates
    millions of docutils nodes, so with the default thresholds about a quarter
    of a full build's CPU time went to the collector (1,000 posts of the
    ``make bench`` corpus: 34 s of CPU, 25 s with the collector off).  On exit
    it walks the whole heap several times more: 0.8 s of a 2.4 s rebuild with
    nothing to do.  Sphinx could raise the thresholds itself while it builds
    (no issue is open for it).

    The thresholds are raised for the build (forked readers and writers inherit
    them) and restored when it ends; at exit the heap is frozen, so the
    interpreter frees it by reference counts alone (``gc.freeze``).
    """
    set_threshold = require(gc, "set_threshold", versions=PYTHON)
    freeze = require(gc, "freeze", versions=PYTHON)
    if set_threshold is None or freeze is None:
        return
    previous = gc.get_threshold()
    set_threshold(*GC_THRESHOLDS)
    app.connect("build-finished", lambda app, exception: gc.set_threshold(*previous), priority=900)
    atexit.unregister(freeze)  # once per process, however many builds it runs
    atexit.register(freeze)
