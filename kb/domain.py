"""The ``kb`` domain: links to authors, series, parts, tags and practices, and
the one list of what the knowledge base keeps between builds.

``{author}`MR```, ``{series}`quality-myths```, ``{part}`quality-myths/2```,
``{tag}`GMP``` and ``{practice}`Quality Systems``` resolve here, so a wrong key
is a problem the rules (:mod:`kb.rules`) report with a did-you-mean, in ``make
check`` and at the start of the build, instead of a dead link.

What is kept between builds, and why
------------------------------------
An incremental build reads only the documents that changed, so whatever a page
shows of *other* documents has to be kept from the build that read them, and
whatever decides which unchanged pages to rewrite has to remember what they
showed.  Everything kept is listed here (``tests/test_domain.py`` holds the
code to this list).

In the domain's data (per document: purged with it, merged from parallel readers):

* ``posts``: each post's excerpt and number of words, which every listing
  shows (:mod:`kb.listings`, :mod:`kb.render`).
* ``listings``: the pages that list posts, and which posts (see
  :attr:`KBDomain.listings`), so a changed post rewrites them.

In the environment (whole-site records, compared with this build's):

* ``env.kb_listed``: what pages show of each published post, a
  :class:`kb.listings.Listed` (a changed post rewrites the pages that show it).
* ``env.kb_related``: the related-posts rule's input and answer, a
  :class:`kb.related.Related` (a post whose answer changed is rewritten).
* ``env.kb_author_signatures``: what pages show of each author, a
  :class:`kb.authors.AuthorShown` (a changed profile rewrites the pages that
  show the author).
* ``env.kb_vocabulary``: every tag and practice (:mod:`kb.tags`: a new
  description rewrites the tag index).
* ``env.kb_labels``: each document's labels (:mod:`kb.policy`, purged per
  document), for the check that no two documents claim one label.
* ``env.kb_terms_used`` and ``env.kb_citations``: the glossary terms each
  document links to and the regulations it cites (:mod:`kb.glossary`,
  :mod:`kb.citations`; per document, purged and merged by :mod:`kb.kept`).
* ``env.kb_terms_listed`` and ``env.kb_citations_listed``: which posts use
  each glossary term and cite each regulation, with their titles
  (:mod:`kb.glossary`, :mod:`kb.citations`: a change rewrites the glossary and
  the regulations pages, :func:`kb.kept.rewritten`).
* ``env.kb_review_shown``: what each post's page and the review queue show of
  its review (:mod:`kb.control`: a changed status rewrites them).
* ``env.kb_shown_problems``: the problems each page showed in the last preview
  (:mod:`kb.problems`: a page whose problems changed is rewritten).
* ``env.kb_site``, ``env.kb_history``, ``env.kb_today`` and ``env.kb_books``:
  the content model, the pages' git history, the day of the build and the
  books on disk, each replaced at the start of every build (:mod:`kb.content`,
  :mod:`kb.history`, :mod:`kb.control`, :mod:`kb.books`); kept only because
  Sphinx keeps the environment whole.

Beside the environment (files in the doctree folder, or the output):

* ``kb-front-matter.pickle``: parsed front matter by file (:mod:`kb.content`),
  so an unchanged post is not parsed again.
* ``kb-pages.pickle``: each page's parse for the rules (:mod:`kb.rules`), so an
  unchanged page is not parsed again.
* ``kb-history.pickle``: the git history of the pages under the commit it was
  read at (:mod:`kb.history`), so a build with no new commit runs no git command.
* ``kb-links.json``: which posts each written page links to (:mod:`kb.listings`),
  so a post that only looks different rewrites only the pages that link to it.
* ``kb-feeds.json``: what each feed was written from (:mod:`kb.feeds`), so an
  unchanged feed is not written again.
* ``kb-archive-pages.json`` and ``kb-templates``: what each page of the
  listings written through ABlog (tag, practice and archive pages, the further
  pages of authors' profiles: :mod:`kb.paging`) was last written from, and
  compiled templates (:mod:`kb.upstream`).
* ``pagefind/kb-indexed.json``: the posts and glossary pages the search index
  holds (:mod:`kb.search_parts`); on a site with several indexes, one in each
  (``pagefind-2/``, ...), and ``kb-search-words/``: the words each index's
  hidden page ``kb-vocabulary.html`` held when it was made
  (:mod:`kb.search_parts`), so that only an index that lacks a new word, or
  whose posts changed, is made again.

In ``make serve``, beside the builds (:mod:`kb.preview`): Pagefind's index of
the post pages and glossary entries, in memory, with the time each page had
when it was read, so that after a save only the pages written since are
indexed again; the pages saved since the main index was last written, in the
recent index ``pagefind-recent/`` with ``kb-recent.json``, which says which
main index it stands beside and which of its pages it replaces
(:mod:`kb.preview.recent`); and the glossary's entries as pages, in the folder
``serve-glossary-entries`` beside the output (:func:`kb.search.hand_over`:
an entry's page is written only when it changed).

Worked out once per build and never kept: :meth:`kb.model.Site.memo` (the
published posts in order, a series' parts), :meth:`KBDomain.per_build` (the
related posts of this build, the posts and glossary terms that references name,
the pages that hold the review queue and the regulations) and the html
builder's caches of links and listed posts (:mod:`kb.render`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from docutils import nodes
from sphinx.domains import Domain, ObjType
from sphinx.roles import XRefRole
from sphinx.util import logging
from sphinx.util.nodes import make_refnode

from kb import __version__, model
from kb.content import parts_of, post_of, site_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Set

    from docutils.nodes import Element
    from sphinx.addnodes import pending_xref
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Where ABlog writes the pages of tags and of categories (our practices).
TAG_PAGES, PRACTICE_PAGES = "blog/tag", "blog/category"


def domain_of(env: BuildEnvironment) -> KBDomain:
    """The ``kb`` domain: what reading the documents found (see :mod:`kb.domain`)."""
    return env.domains["kb"]  # type: ignore[return-value]


def pages_marked(env: BuildEnvironment, key: str) -> list[str]:
    """The pages whose metadata holds *key* (the directive of the review queue, of
    the regulations page, marks its page), sorted.  Asked once every page is read,
    and for every page written: worked out once per build."""

    def find(site: model.Site) -> list[str]:
        return sorted(doc for doc, meta in env.metadata.items() if meta.get(key) and doc in env.found_docs)

    return domain_of(env).per_build(f"pages marked {key}", find)


class KBXRefRole(XRefRole):
    """An ``XRefRole`` that also works without the ``kb:`` prefix."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        if ":" not in self.name:
            self.name = f"kb:{self.name}"
        return super().run()


def target_of(env: BuildEnvironment, typ: str, target: str) -> tuple[str, str, str] | str:
    """``(docname, anchor, title)`` for a reference, or the reason it does not resolve."""
    site = site_of(env)
    if typ == "author":
        author = site.authors.get(target)
        if author:
            return author.docname, "", author.name
        return f"unknown author {target!r}: {model.did_you_mean(target, site.authors)}"
    if typ == "series":
        series = site.series.get(target)
        if series:
            return series.docname, "", series.title
        return f"unknown series {target!r}: {model.did_you_mean(target, site.series)}"
    if typ == "part":
        key, _, number = target.rpartition("/")
        if key not in site.series:
            return f"unknown series {key!r} in {target!r}: {model.did_you_mean(key, site.series)}"
        parts = parts_of(env, key)
        for post in parts:
            if str(post.part) == number.strip():
                return post.docname, "", post.title
        known = ", ".join(str(p.part) for p in parts) or "none"
        return f"series {key!r} has no published part {number!r} (parts: {known}); write {{part}}`{key}/N`"
    terms, pages = (site.tags, TAG_PAGES) if typ == "tag" else (site.practices, PRACTICE_PAGES)
    canonical = model.Lookup(terms)(target)
    if canonical:
        return f"{pages}/{terms[canonical].slug}", "", canonical
    return f"unknown {typ} {target!r}: {model.did_you_mean(target, terms)}"


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

    def __init__(self, env: BuildEnvironment) -> None:
        super().__init__(env)
        # Sphinx keeps a domain's ``data``, not the domain: this is gone after the build.
        self._per_build: dict[str, tuple[model.Site, Any]] = {}

    def per_build(self, name: str, make: Callable[[model.Site], T]) -> T:
        """``make(site)``, worked out once per build (per content model) and never kept."""
        site = site_of(self.env)
        known = self._per_build.get(name)
        if known is None or known[0] is not site:
            known = self._per_build[name] = (site, make(site))
        return known[1]

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
            posts = self.per_build(
                "posts by label", lambda site: {model.post_label(p.docname): p for p in self.published_posts()}
            )
            post = posts.get(target)
            return (
                (post.docname, "", post.title)
                if post
                else f"unknown post {target!r}: {model.did_you_mean(target, posts)}"
            )
        if typ == "term":
            # References are resolved once every document is read: the glossary is complete.
            terms = self.per_build("glossary terms", lambda site: self.glossary_terms())
            if target.lower() in terms:
                name, (docname, anchor) = terms[target.lower()]
                return docname, anchor, name
            return f"unknown term {target!r}: {model.did_you_mean(target, [name for name, _ in terms.values()])}"
        return target_of(self.env, typ, target)

    def glossary_terms(self) -> dict[str, tuple[str, tuple[str, str]]]:
        """Every glossary term, by its lower-case name: ``(name, (docname, anchor))``."""
        objects = self.env.domains.standard_domain.objects
        return {name.lower(): (name, where) for (kind, name), where in objects.items() if kind == "term"}

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
        for key in site.series:
            for post in parts_of(self.env, key):
                if post.part:
                    yield f"{key}/{post.part}", post.title, "part", post.docname, "", 1
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
