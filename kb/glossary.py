"""The glossary: each term lists the posts that use it; an unknown term says what was meant.

Terms are defined in ``glossary.md`` with Sphinx's ``glossary`` directive (an
entry may have several terms: an abbreviation and its words) and linked from
posts with ``{term}`CAPA```.  Each entry of the glossary then lists the
published posts linking to it, newest first.  A link to a term that is not
defined fails the strict build with the closest known terms.

Which terms each document links is kept per document (purged and merged, so
parallel reading is safe); the glossary pages are written again whenever that
changes (``env-get-updated``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

from kb import __version__
from kb.content import post_of, site_of
from kb.domain import pages_marked
from kb.kept import PerDocument, rewritten
from kb.render import link, newest

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.domains import Domain
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: The metadata flag of a page that defines terms.
GLOSSARY_PAGE = "kb-glossary"

#: The terms each document links to (lower case, in order of first use).
used = PerDocument("kb_terms_used")


@dataclass(frozen=True)
class Entry:
    """One entry of a glossary: its terms (the first names it), where it is, and its definition."""

    docname: str
    anchor: str
    terms: tuple[str, ...]
    definition: str


def entries(env: BuildEnvironment) -> list[Entry]:
    """Every entry of the glossary pages, in the order of each page (search indexes each as a result)."""
    found = []
    for docname in pages_marked(env, GLOSSARY_PAGE):
        for glossary in env.get_doctree(docname).findall(addnodes.glossary):
            for item in glossary.findall(nodes.definition_list_item):
                terms = list(item.findall(nodes.term))
                definition = next(iter(item.findall(nodes.definition)), None)
                if not terms or not terms[0]["ids"] or definition is None:
                    continue
                names = tuple(" ".join(term.astext().split()) for term in terms)
                found.append(Entry(docname, terms[0]["ids"][0], names, " ".join(definition.astext().split())))
    return found


def known_terms(env: BuildEnvironment) -> dict[str, tuple[str, str]]:
    """Every defined term, in lower case: the page and anchor of its entry."""
    objects = env.domains.standard_domain.objects
    return {name.lower(): where for (kind, name), where in objects.items() if kind == "term"}


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """Remember the terms a document links to, and whether it defines terms."""
    env = app.env
    if any(doctree.findall(addnodes.glossary)):
        env.metadata[env.docname][GLOSSARY_PAGE] = True
    terms = [
        str(node["reftarget"]).lower()
        for node in doctree.findall(addnodes.pending_xref)
        if node.get("refdomain") == "std" and node.get("reftype") == "term"
    ]
    if terms:
        used(env)[env.docname] = list(dict.fromkeys(terms))
    else:
        used(env).pop(env.docname, None)


def on_warn_missing_reference(app: Sphinx, domain: Domain, node: addnodes.pending_xref) -> bool | None:
    """An unknown term: say which defined terms are close, and where they are defined."""
    if domain is None or domain.name != "std" or node.get("reftype") != "term":
        return None
    target = str(node["reftarget"])
    names = [name for (kind, name) in domain.objects if kind == "term"]  # type: ignore[attr-defined]
    close = difflib.get_close_matches(target.lower(), [n.lower() for n in names], n=3, cutoff=0.6)
    by_lower = {n.lower(): n for n in names}
    hint = "did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?" if close else "no term is close"
    logger.warning(
        "unknown term %r: %s (terms are defined in glossary.md; add it there, or link a defined term)",
        target,
        hint,
        location=node,
        type="kb",
        subtype="term",
    )
    return True


def users_by_entry(env: BuildEnvironment) -> dict[str, list[str]]:
    """For each glossary entry (its anchor), the published posts linking to it, newest first."""
    terms = known_terms(env)
    by_entry: dict[str, list[str]] = {}
    for post in site_of(env).published:
        if post_of(env, post.docname) is None:
            continue
        for term in used(env).get(post.docname, []):
            if term in terms:
                posts = by_entry.setdefault(terms[term][1], [])
                if post.docname not in posts:
                    posts.append(post.docname)
    return by_entry


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Under each glossary entry, the newest posts that use it, and how many more."""
    if not app.env.metadata.get(docname, {}).get(GLOSSARY_PAGE):
        return
    site, users = site_of(app.env), users_by_entry(app.env)
    for item in doctree.findall(nodes.definition_list_item):
        anchors = [anchor for term in item.findall(nodes.term) for anchor in term["ids"]]
        posts = [doc for anchor in anchors for doc in users.get(anchor, [])]
        definition = next(iter(item.findall(nodes.definition)), None)
        if not posts or definition is None:
            continue
        term = next(iter(item.findall(nodes.term))).astext()
        shown, more = newest(app.builder, docname, list(dict.fromkeys(posts)), ("q", term), f"search for “{term}”")
        para = nodes.paragraph(classes=["kb-term-posts"])
        para += nodes.Text("Used in: ")
        for index, doc in enumerate(shown):
            if index:
                para += nodes.Text(" · ")
            para += link(app.builder, docname, doc, site.posts[doc].title)
        if more is not None:
            para += nodes.Text(" · ")
            para += more
        definition += para


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Write the glossary pages again when the posts using their terms changed."""
    site = site_of(env)
    users = users_by_entry(env)
    titles = [(doc, site.posts[doc].title) for posts in users.values() for doc in posts]
    return rewritten(env, "kb_terms_listed", (sorted(users.items()), titles), GLOSSARY_PAGE)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", on_doctree_read)
    used.connect(app)
    app.connect("warn-missing-reference", on_warn_missing_reference)
    app.connect("env-get-updated", on_env_get_updated)
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
