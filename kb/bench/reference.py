"""The reference ``make bench`` compares with: plain Sphinx and MyST on the same posts (:mod:`kb.bench`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.domains import Domain, ObjType
from sphinx.roles import XRefRole
from sphinx.util.nodes import make_refnode

from kb import model

if TYPE_CHECKING:
    from sphinx.application import Sphinx


# -- the reference -----------------------------------------------------------
#
# The reference is plain Sphinx with the Markdown extensions the posts need
# (MyST with the same settings, sphinx-design) and the ``basic`` theme.  The
# posts also use roles only this site defines; were they unknown to the
# reference, it would turn each into an error message instead of a link, a
# little less work than ours, and a flattering comparison.  So the reference
# loads this module as an extension (:func:`setup`): the cross-reference roles
# (``{author}``, ``{series}``, ``{part}``, ``{post}``) become Sphinx
# cross-references resolved to a page (a post, or the home page, the reference
# having no author or series pages), and the citation roles links to the
# official text; ``{term}`` is Sphinx's own, against a copy of the site's
# glossary.  What the site adds on top (listing, tag, author and series pages,
# feeds, related posts, the search index) is what the ratios measure.

#: The site's own cross-reference roles, stubbed in the reference.
STUB_XREFS = ("author", "series", "part", "post")


class StubRole(XRefRole):
    """A cross-reference role of the stub domain, written without its prefix."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        self.name = f"stub:{self.name}"
        return super().run()


class StubDomain(Domain):
    """Resolves the site's cross-reference roles in the reference: a post to its page, the rest to the home page."""

    name = "stub"
    label = "Stand-ins for the knowledge base's roles"
    object_types: ClassVar[dict[str, ObjType]] = {name: ObjType(name, name) for name in STUB_XREFS}
    roles: ClassVar[dict[str, XRefRole]] = {name: XRefRole() for name in STUB_XREFS}

    def resolve_xref(
        self, env: Any, fromdocname: str, builder: Any, typ: str, target: str, node: Any, contnode: Any
    ) -> nodes.reference:
        docname = f"{model.POSTS_DIR}/{target}" if typ == "post" else env.config.root_doc
        return make_refnode(builder, fromdocname, docname, "", contnode, target)

    def resolve_any_xref(self, *args: Any) -> list[tuple[str, nodes.reference]]:
        return []

    def merge_domaindata(self, docnames: Any, otherdata: dict[str, Any]) -> None:
        """Nothing to merge: the stand-ins keep no data."""


def citation_stub(name: str, rawtext: str, text: str, *args: Any, **kwargs: Any) -> tuple[list[nodes.Node], list]:
    """A citation as a link to the official text of its kind of document."""
    from kb.citations import DEFAULT_CITATIONS

    url = DEFAULT_CITATIONS[name]["forms"][0]["url"].partition("{")[0]
    return [nodes.reference(rawtext, text, refuri=url)], []


def setup(app: Sphinx) -> dict[str, Any]:
    """The reference's stand-ins for the site's own roles (see above)."""
    from kb.citations import DEFAULT_CITATIONS

    app.add_domain(StubDomain)
    for name in STUB_XREFS:
        app.add_role(name, StubRole())
    for name in DEFAULT_CITATIONS:
        app.add_role(name, citation_stub)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


def write_reference(reference: Path, site: Path) -> None:
    """The reference's configuration, home page and glossary (its posts are written with the site's),
    which reads the stand-ins of this module from *site* (the site's own folder)."""
    shutil.copy(site / "glossary.md", reference / "glossary.md")
    (reference / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(site)!r})\n"
        'project = "Reference"\n'
        'extensions = ["myst_parser", "sphinx_design", "kb.bench.reference"]\n'
        'source_suffix = {".md": "markdown"}\n'
        'myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]\n'
        "myst_title_to_header = True\n"
        "myst_heading_anchors = 3\n"
        'html_theme = "basic"\n',
        encoding="utf-8",
    )
    (reference / "index.md").write_text(
        "# Reference\n\n```{toctree}\n:hidden:\n:glob:\n\nglossary\nposts/*\n```\n", encoding="utf-8"
    )
