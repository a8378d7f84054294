"""The knowledge base's own Sphinx extensions, one module per concern.

``extensions = ["kb"]`` in ``conf.py`` loads them all; each module has its own
``setup()`` and can be read on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

__version__ = "1.0.0"

#: Loaded in this order: the content model first, everything else builds on it.
MODULES = (
    "kb.content",
    "kb.standby",
    "kb.domain",
    "kb.render",
    "kb.listings",
    "kb.paging",
    "kb.history",
    "kb.control",
    "kb.citations",
    "kb.glossary",
    "kb.posts",
    "kb.authors",
    "kb.feeds",
    "kb.series",
    "kb.tags",
    "kb.related",
    "kb.upstream",
    "kb.schema",
    "kb.policy",
    "kb.search",
    "kb.search_box",
    "kb.publishing",
    "kb.browse",
    "kb.books",
    "kb.pages",
)


def setup(app: Sphinx) -> dict[str, Any]:
    """Load every module of the knowledge base (and the upstream extensions they need)."""
    for module in MODULES:
        app.setup_extension(module)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
