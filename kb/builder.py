"""A build's word to the preview that the pages it read are written.

The preview reloads the browser as soon as the pages of the documents a build
has read are written (the builder writes them first,
:func:`kb.upstream.sphinx.read_pages_written_first`), while the build goes on
with the rest: a build it forks (:mod:`kb.warm`) gets a pipe in
``KB_PAGES_WRITTEN_FD``, to which :func:`say_written` writes one byte at that
moment.  A build that read nothing (a changed template) says nothing: the
preview then reloads when the build ends.  At the same moment the builder
emits :data:`READ_PAGES_WRITTEN`, on which the preview's search takes the
saved pages (:mod:`kb.search`).
"""

from __future__ import annotations

import contextlib
import os

#: Set for a build forked by the preview: the pipe to say that the pages read are written.
WRITTEN_VARIABLE = "KB_PAGES_WRITTEN_FD"
#: What is written to it.
WRITTEN = b"w"
#: The event emitted once the pages of the documents read are written, before the others
#: (handlers take the application only).
READ_PAGES_WRITTEN = "kb-read-pages-written"


def say_written() -> None:
    """Tell the preview, if it asked, that the pages of the documents read are written (once)."""
    if descriptor := os.environ.pop(WRITTEN_VARIABLE, ""):
        with contextlib.suppress(OSError, ValueError):  # the preview may have gone
            os.write(int(descriptor), WRITTEN)
            os.close(int(descriptor))
