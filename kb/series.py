"""Series: multi-part articles, defined once in ``series/<key>.md``.

A series page shows its introduction (the body) and then its parts in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docutils import nodes

from kb import __version__, model
from kb.content import site_of
from kb.listings import render_list

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def series_of(docname: str, site: model.Site) -> model.Series | None:
    folder, _, key = docname.partition("/")
    return site.series.get(key) if folder == model.SERIES_DIR else None


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Append the parts of the series, in order."""
    site = site_of(app.env)
    series = series_of(docname, site)
    if series is None:
        return
    section = next(iter(doctree.findall(nodes.section)), doctree)
    parts = site.parts(series.key)
    status = "complete" if series.status == "complete" else "ongoing: more parts are coming"
    section += nodes.rubric("", f"The parts ({len(parts)}, {status})", classes=["kb-posts-heading"])
    section += render_list(app.env, app.builder, docname, parts, excerpts=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
