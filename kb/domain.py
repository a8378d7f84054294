"""The ``kb`` domain: links to authors, series, parts, tags and practices.

``{author}`MR```, ``{series}`quality-myths```, ``{part}`quality-myths/2```,
``{tag}`GMP``` and ``{practice}`Quality Systems``` resolve here.  A wrong key is
a problem the rules (:mod:`kb.rules`) report with a did-you-mean, in ``make
check`` and at the start of the build, instead of a dead link.  The
domain also keeps what reading a post teaches (its excerpt and length), which
the listings need; that data is per document, purged and merged, so parallel
reading is safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.domains import Domain, ObjType
from sphinx.roles import XRefRole
from sphinx.util import logging
from sphinx.util.nodes import make_refnode

from kb import __version__, model
from kb.content import post_of, site_of
from kb.rules.pages import target_of

if TYPE_CHECKING:
    from collections.abc import Iterator, Set

    from docutils.nodes import Element
    from sphinx.addnodes import pending_xref
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: Where ABlog writes the pages of tags and of categories (our practices).
TAG_PAGES, PRACTICE_PAGES = "blog/tag", "blog/category"


class KBXRefRole(XRefRole):
    """An ``XRefRole`` that also works without the ``kb:`` prefix."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        if ":" not in self.name:
            self.name = f"kb:{self.name}"
        return super().run()


class KBDomain(Domain):
    """Authors, series, tags and practices of the knowledge base."""

    name = "kb"
    label = "Knowledge base"
    object_types: ClassVar[dict[str, ObjType]] = {
        "author": ObjType("author", "author"),
        "series": ObjType("series", "series"),
        "part": ObjType("part", "part"),
        "tag": ObjType("tag", "tag"),
        "practice": ObjType("practice", "practice"),
        # Named by their file name and by the glossary: for other Sphinx sites, through objects.inv.
        "post": ObjType("post", "post"),
        "term": ObjType("term", "term"),
    }
    roles: ClassVar[dict[str, XRefRole]] = {name: KBXRefRole() for name in object_types}
    initial_data: ClassVar[dict[str, Any]] = {"posts": {}, "listings": {}}
    data_version = 2

    @property
    def posts(self) -> dict[str, dict[str, Any]]:
        """docname -> what reading the post found: ``excerpt`` and ``words``."""
        return self.data["posts"]

    @property
    def listings(self) -> dict[str, list[str]]:
        """Documents that list posts -> which posts: ``author:<key>``,
        ``series:<key>``, ``tag:<tag>``, ``practice:<practice>`` or ``*`` (any);
        ``kb.listings`` rewrites them when such a post changes."""
        return self.data["listings"]

    def lists(self, docname: str, scope: str = "*") -> None:
        """Note that *docname* lists posts of *scope* (see :attr:`listings`)."""
        scopes = self.listings.setdefault(docname, [])
        if scope not in scopes:
            scopes.append(scope)

    def clear_doc(self, docname: str) -> None:
        self.posts.pop(docname, None)
        self.listings.pop(docname, None)

    def merge_domaindata(self, docnames: Set[str], otherdata: dict[str, Any]) -> None:
        for key in ("posts", "listings"):
            for docname, value in otherdata[key].items():
                if docname in docnames:
                    self.data[key][docname] = value

    def resolve_xref(
        self,
        env: BuildEnvironment,
        fromdocname: str,
        builder: Builder,
        typ: str,
        target: str,
        node: pending_xref,
        contnode: Element,
    ) -> nodes.reference | None:
        found = self.target(typ, target.strip())
        if isinstance(found, str) or len(found) == 2:
            # Reported at start-up by the rules (kb.rules); this reaches the log
            # only for a page the rules do not read.
            message = found if isinstance(found, str) else f"{found[0]} ({found[1]})"
            logger.warning("%s", message, location=node, type="kb", subtype=typ)
            return None
        docname, anchor, title = found
        if not node.get("refexplicit"):
            contnode = nodes.inline(title, title, classes=[*contnode["classes"], f"kb-{typ}"])
        return make_refnode(builder, fromdocname, docname, anchor, contnode, title)

    def target(self, typ: str, target: str) -> tuple[str, str, str] | tuple[str, str] | str:
        """Where a reference of type *typ* to *target* leads (see :func:`target_of`)."""
        if typ == "post":
            posts = {model.post_label(post.docname): post for post in self.published_posts()}
            post = posts.get(target)
            return (
                (post.docname, "", post.title)
                if post
                else f"unknown post {target!r}: {model.did_you_mean(target, posts)}"
            )
        if typ == "term":
            terms = {
                name.lower(): (name, where)
                for (kind, name), where in self.env.domains.standard_domain.objects.items()
                if kind == "term"
            }
            if target.lower() in terms:
                name, (docname, anchor) = terms[target.lower()]
                return docname, anchor, name
            return f"unknown term {target!r}: {model.did_you_mean(target, [name for name, _ in terms.values()])}"
        return target_of(site_of(self.env), typ, target)

    def published_posts(self) -> list[model.Post]:
        """The posts of this build (drafts too in a preview)."""
        return [post for post in site_of(self.env).posts.values() if post_of(self.env, post.docname) is not None]

    def resolve_any_xref(
        self,
        env: BuildEnvironment,
        fromdocname: str,
        builder: Builder,
        target: str,
        node: pending_xref,
        contnode: Element,
    ) -> list[tuple[str, nodes.reference]]:
        return []

    def get_objects(self) -> Iterator[tuple[str, str, str, str, str, int]]:
        """Everything another Sphinx site may cite through ``objects.inv``, by a name that
        outlives a change of title: posts by file name, parts by series and number."""
        site = site_of(self.env)
        for author in site.authors.values():
            yield author.key, author.name, "author", author.docname, "", 1
        for series in site.series.values():
            yield series.key, series.title, "series", series.docname, "", 1
        for post in self.published_posts():
            yield model.post_label(post.docname), post.title, "post", post.docname, "", 1
            if post.series and post.part:
                yield f"{post.series}/{post.part}", post.title, "part", post.docname, "", 1
        for kind, terms, pages in (("tag", site.tags, TAG_PAGES), ("practice", site.practices, PRACTICE_PAGES)):
            for term in terms.values():
                yield term.name, term.name, kind, f"{pages}/{term.slug}", "", 1
        for (kind, name), (docname, anchor) in self.env.domains.standard_domain.objects.items():
            if kind == "term":
                yield name, name, "term", docname, anchor, 1


def missing_is_reported(app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Element) -> Any:
    """Our resolver already warned with a did-you-mean; keep nitpicky from warning twice."""
    if node.get("refdomain") == "kb":
        return contnode
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_domain(KBDomain)
    for name in KBDomain.object_types.keys() - {"term"}:  # {term} stays Sphinx's glossary role
        app.add_role(name, KBXRefRole())
    app.connect("missing-reference", missing_is_reported)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
