"""``{kb-search-box}``: a search form on any page (the home page), leading to the search page.

The form sends its words as ``?q=`` to ``search.html`` (:mod:`kb.search`),
which searches for them as soon as it opens.  Only the HTML builders write
it; the other formats leave it out.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from kb import __version__
from kb.render import SEARCH_PAGE

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator


class search_box(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """A search form leading to the search page; written by the HTML builders only."""


def visit_search_box(self: HTML5Translator, node: search_box) -> None:
    action = escape(self.builder.get_relative_uri(self.builder.current_docname, SEARCH_PAGE))
    label = escape(node["label"])
    self.body.append(
        f'<form class="kb-search-box" role="search" action="{action}" method="get">'
        f'<label class="kb-search-box__label" for="kb-search-box-q">{label}</label>'
        '<span class="kb-search-box__row">'
        f'<input id="kb-search-box-q" type="search" name="q" autocomplete="off" placeholder="{label}">'
        '<button type="submit">Search</button></span></form>'
    )
    raise nodes.SkipNode


def skip(self: Any, node: nodes.Element) -> None:
    raise nodes.SkipNode


class SearchBoxDirective(SphinxDirective):
    """``{kb-search-box}``: a search form, with an optional label as argument."""

    optional_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        node = search_box(label=self.arguments[0] if self.arguments else "Search the knowledge base")
        self.set_source_info(node)
        return [node]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(
        search_box,
        html=(visit_search_box, None),
        latex=(skip, None),
        text=(skip, None),
        man=(skip, None),
        texinfo=(skip, None),
    )
    app.add_directive("kb-search-box", SearchBoxDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
