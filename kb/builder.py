"""The HTML builder: Sphinx's own, writing first the pages of the documents it has just read.

Sphinx writes a build's pages in alphabetical order.  After a consultant saves
a post, that puts the pages that merely list it (``authors/...``,
``glossary``, ``index``) before the post's own page, which is the one the
preview shows first (about a third of a second at 2,000 posts,
PERFORMANCE.md).  :class:`ReadFirstHTMLBuilder` writes the pages of the
documents read in this build first, then the others; each group in Sphinx's
order, by Sphinx's own ``write_documents`` (its documented point to override).
A full build reads every document, so its order is Sphinx's.

The preview reloads the browser as soon as those first pages are written,
while the build goes on with the rest: a build it forks (:mod:`kb.warm`) gets
a pipe in ``KB_PAGES_WRITTEN_FD``, to which :func:`say_written` writes one
byte at that moment.  A build that read nothing (a changed template) says
nothing: the preview then reloads when the build ends.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from sphinx.builders.html import StandaloneHTMLBuilder

from kb import __version__

if TYPE_CHECKING:
    from collections.abc import Set

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment


#: Set for a build forked by the preview: the pipe to say that the pages read are written.
WRITTEN_VARIABLE = "KB_PAGES_WRITTEN_FD"
#: What is written to it.
WRITTEN = b"w"


def say_written() -> None:
    """Tell the preview, if it asked, that the pages of the documents read are written (once)."""
    if descriptor := os.environ.pop(WRITTEN_VARIABLE, ""):
        with contextlib.suppress(OSError, ValueError):  # the preview may have gone
            os.write(int(descriptor), WRITTEN)
            os.close(int(descriptor))


class ReadFirstHTMLBuilder(StandaloneHTMLBuilder):
    """Sphinx's ``html`` builder; the pages of the documents read in this build come first."""

    #: The documents read in this build (set on ``env-before-read-docs``).
    read_now: frozenset[str] = frozenset()

    def write_documents(self, docnames: Set[str]) -> None:
        first = docnames & self.read_now
        if first:
            super().write_documents(first)
            say_written()
        if rest := docnames - first:
            super().write_documents(rest)


def on_env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Note the documents this build reads."""
    if isinstance(app.builder, ReadFirstHTMLBuilder):
        app.builder.read_now = frozenset(docnames)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_builder(ReadFirstHTMLBuilder, override=True)
    app.connect("env-before-read-docs", on_env_before_read_docs, priority=900)  # after any handler adds some
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
