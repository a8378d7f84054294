"""Regulation citations: {cfr}`21 CFR 211.192`, {eu-gmp}`Annex 11`, {ich}`Q9(R1)`.

Each kind of citation is one entry of ``kb_citations`` (defaults below): its
role, the forms it accepts (a pattern, the document it names, and the address
of the official text), and the documents the site knows, with their titles.
Adding a regulation is adding an entry; adding a known document, a line.

A citation is shown as written and links to the official text; one that does
not match a form, or names a document the site does not know, is a located
error with the expected forms.  Every post ends with the regulations it cites,
and ``{kb-regulations}`` (the page *Regulations cited*) lists each cited
document with the posts that cite it, newest first.  The page follows every
edit (``env-get-updated``), so incremental builds stay right.

:func:`parse` is pure, so that ``make check`` reads citations as the build does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from kb import __version__
from kb.content import post_of, site_of
from kb.domain import pages_marked
from kb.kept import PerDocument, rewritten
from kb.render import link, newest, relative

if TYPE_CHECKING:
    from docutils.parsers.rst.states import Inliner
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

ECFR = "https://www.ecfr.gov/current/title-21"
EUDRALEX_4 = "https://health.ec.europa.eu/medicinal-products/eudralex/eudralex-volume-4_en"
ICH_QUALITY = "https://www.ich.org/page/quality-guidelines"

#: The regulations the practice cites.  Only documents whose number and title
#: are certain are listed: a wrong citation is worse than none.
DEFAULT_CITATIONS: dict[str, dict[str, Any]] = {
    "cfr": {
        "name": "US regulations (21 CFR)",
        "forms": [
            {"pattern": r"21 CFR Part (?P<part>\d+)", "example": "21 CFR Part 211",
             "document": "21 CFR Part {part}", "url": ECFR + "/part-{part}"},
            {"pattern": r"21 CFR (?P<part>\d+)\.(?P<section>\d+)", "example": "21 CFR 211.192",
             "document": "21 CFR Part {part}", "url": ECFR + "/section-{part}.{section}"},
        ],
        "known": {
            "21 CFR Part 11": "Electronic Records; Electronic Signatures",
            "21 CFR Part 210": "Current Good Manufacturing Practice in Manufacturing, Processing, Packing, or "
            "Holding of Drugs; General",
            "21 CFR Part 211": "Current Good Manufacturing Practice for Finished Pharmaceuticals",
            "21 CFR Part 600": "Biological Products: General",
            "21 CFR Part 1271": "Human Cells, Tissues, and Cellular and Tissue-Based Products",
        },
    },
    "eu-gmp": {
        "name": "EU GMP (EudraLex Volume 4)",
        "forms": [
            {"pattern": r"(?:EU GMP )?Chapter (?P<number>\d+)", "example": "Chapter 1",
             "document": "EU GMP Chapter {number}", "url": EUDRALEX_4},
            {"pattern": r"(?:EU GMP )?Annex (?P<number>\d+)", "example": "Annex 11",
             "document": "EU GMP Annex {number}", "url": EUDRALEX_4},
        ],
        "known": {
            "EU GMP Chapter 1": "Pharmaceutical Quality System",
            "EU GMP Chapter 2": "Personnel",
            "EU GMP Chapter 3": "Premises and Equipment",
            "EU GMP Chapter 4": "Documentation",
            "EU GMP Chapter 5": "Production",
            "EU GMP Chapter 6": "Quality Control",
            "EU GMP Chapter 7": "Outsourced Activities",
            "EU GMP Chapter 8": "Complaints and Product Recall",
            "EU GMP Chapter 9": "Self Inspection",
            "EU GMP Annex 1": "Manufacture of Sterile Medicinal Products",
            "EU GMP Annex 2": "Manufacture of Biological Active Substances and Medicinal Products for Human Use",
            "EU GMP Annex 11": "Computerised Systems",
            "EU GMP Annex 15": "Qualification and Validation",
            "EU GMP Annex 16": "Certification by a Qualified Person and Batch Release",
            "EU GMP Annex 19": "Reference and Retention Samples",
        },
    },
    "ich": {
        "name": "ICH quality guidelines",
        "forms": [
            {"pattern": r"(?:ICH )?Q(?P<number>\d+)(?:\((?P<revision>R\d+)\))?", "example": "Q9(R1)",
             "document": "ICH Q{number}", "url": ICH_QUALITY},
        ],
        "known": {
            "ICH Q2": "Validation of Analytical Procedures",
            "ICH Q7": "Good Manufacturing Practice Guide for Active Pharmaceutical Ingredients",
            "ICH Q8": "Pharmaceutical Development",
            "ICH Q9": "Quality Risk Management",
            "ICH Q10": "Pharmaceutical Quality System",
            "ICH Q11": "Development and Manufacture of Drug Substances",
            "ICH Q12": "Technical and Regulatory Considerations for Pharmaceutical Product Lifecycle Management",
            "ICH Q13": "Continuous Manufacturing of Drug Substances and Drug Products",
            "ICH Q14": "Analytical Procedure Development",
        },
    },
}  # fmt: skip


@dataclass(frozen=True, order=True)
class Citation:
    """One citation as written, the document it names, and where its official text is."""

    role: str
    text: str
    document: str
    url: str


@dataclass(frozen=True)
class Finding:
    message: str
    fix: str


def parse(role: str, text: str, sources: dict[str, dict[str, Any]]) -> Citation | Finding:
    """The citation ``{role}`text```, or what is wrong with it."""
    source = sources.get(role)
    if source is None:
        return Finding(f"unknown kind of citation {{{role}}}", f"use one of {', '.join(sorted(sources))}")
    written = " ".join(text.split())
    for form in source["forms"]:
        found = re.fullmatch(form["pattern"], written)
        if found is None:
            continue
        values = found.groupdict(default="")
        document = form["document"].format(**values)
        if document not in source["known"]:
            known = ", ".join(source["known"])
            return Finding(
                f"{{{role}}}`{written}`: {document} is not a document this site knows",
                f"cite one of {known}; or, if the citation is right, add it to kb_citations in conf.py",
            )
        return Citation(role, written, document, form["url"].format(**values))
    forms = " or ".join(f"{{{role}}}`{form['example']}`" for form in source["forms"])
    return Finding(f"{{{role}}}`{written}` is not a citation of {source['name']}", f"write it as {forms}")


# -- the build -----------------------------------------------------------------


def sources_of(config: Config) -> dict[str, dict[str, Any]]:
    return config.kb_citations or DEFAULT_CITATIONS  # type: ignore[no-any-return]


#: The citations of each document, in the order they appear.
cited = PerDocument("kb_citations")


def citation_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Inliner,
    options: dict[str, Any] | None = None,
    content: list[str] | None = None,
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """``{cfr}`21 CFR 211.192```: the citation as written, linked to the official text."""
    env = inliner.document.settings.env
    found = parse(name, text, sources_of(env.config))
    if isinstance(found, Finding):
        location = (env.docname, lineno)
        logger.warning("%s (%s)", found.message, found.fix, location=location, type="kb", subtype="citation")
        return [nodes.literal(rawtext, text)], []
    cited(env).setdefault(env.docname, []).append(found)
    title = sources_of(env.config)[name]["known"][found.document]
    reference = nodes.reference(rawtext, found.text, refuri=found.url, reftitle=f"{found.document}: {title}")
    reference["classes"] += ["kb-citation", f"kb-citation-{name}"]
    return [reference], []


def on_config_inited(app: Sphinx, config: Config) -> None:
    """One role per kind of citation."""
    for role in sources_of(config):
        app.add_role(role, citation_role, override=True)


# -- what a reader sees ----------------------------------------------------------

#: The metadata flag of a page that lists every cited regulation.
REGULATIONS_PAGE = "kb-regulations"


class regulations_list(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for the list of cited regulations, filled in when the page is written."""


class RegulationsDirective(SphinxDirective):
    """``{kb-regulations}``: every cited document, with the posts that cite it."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        self.env.metadata[self.env.docname][REGULATIONS_PAGE] = True
        node = regulations_list()
        self.set_source_info(node)
        return [node]


def anchor(document: str) -> str:
    return nodes.make_id(document)


def citing_posts(env: BuildEnvironment) -> dict[str, list[tuple[Any, list[str]]]]:
    """Each cited document: the published posts citing it (newest first) and how each wrote it."""
    by_document: dict[str, dict[str, list[str]]] = {}
    for docname, citations in cited(env).items():
        if post_of(env, docname) is None:
            continue
        for citation in citations:
            texts = by_document.setdefault(citation.document, {}).setdefault(docname, [])
            if citation.text not in texts:
                texts.append(citation.text)
    order = {post.docname: index for index, post in enumerate(site_of(env).published)}
    return {
        document: [
            (site_of(env).posts[doc], texts) for doc, texts in sorted(posts.items(), key=lambda i: order.get(i[0], 0))
        ]
        for document, posts in by_document.items()
    }


def regulations_nodes(app: Sphinx, docname: str) -> list[nodes.Node]:
    """One section per kind of regulation, one entry per document cited, with its posts."""
    sources = sources_of(app.config)
    posts = citing_posts(app.env)
    out: list[nodes.Node] = []
    for source in sources.values():
        documents = [d for d in source["known"] if d in posts]
        if not documents:
            continue
        section = nodes.container(classes=["kb-regulations-source"])
        section += nodes.rubric("", source["name"])
        entries = nodes.bullet_list(classes=["kb-regulations"])
        for document in documents:
            para = nodes.paragraph(ids=[anchor(document)])
            para += nodes.strong("", document)
            para += nodes.Text(f": {source['known'][document]}")
            item = nodes.list_item("", para)
            citing = nodes.bullet_list(classes=["kb-regulation-posts"])
            rest = (("filter", f"regulation:{document}"), f"every post citing {document}")
            shown, more = newest(app.builder, docname, posts[document], *rest)
            for post, texts in shown:
                line = nodes.paragraph()
                line += link(app.builder, docname, post.docname, post.title)
                line += nodes.Text(f" ({', '.join(texts)})")
                citing += nodes.list_item("", line)
            if more is not None:
                citing += nodes.list_item("", nodes.paragraph("", "", more))
            item += citing
            entries += item
        section += entries
        out.append(section)
    return out or [nodes.paragraph("", "No post cites a regulation yet.")]


def documents_cited(env: BuildEnvironment, docname: str) -> list[str]:
    """The documents *docname* cites, sorted (search's Regulation filter)."""
    return sorted({citation.document for citation in cited(env).get(docname, [])})


def post_citations(app: Sphinx, docname: str) -> nodes.Node | None:
    """ "Regulations cited": the post's citations in the order of first appearance."""
    found = list(dict.fromkeys(cited(app.env).get(docname, [])))
    if not found:
        return None
    pages = pages_marked(app.env, REGULATIONS_PAGE)
    box = nodes.container(classes=["kb-post-citations"])
    box += nodes.rubric("", "Regulations cited")
    items = nodes.bullet_list()
    for citation in found:
        para = nodes.paragraph()
        para += nodes.reference("", citation.text, refuri=citation.url, classes=["kb-citation"])
        title = sources_of(app.config)[citation.role]["known"][citation.document]
        para += nodes.Text(f" ({citation.document}: {title})" if citation.text != citation.document else f" ({title})")
        if pages:
            uri = relative(app.builder, docname, pages[0]) + "#" + anchor(citation.document)
            para += nodes.Text(" · ")
            para += nodes.reference("", "other posts citing it", refuri=uri, internal=True)
        items += nodes.list_item("", para)
    box += items
    return box


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Fill in the regulations page; end each post with the regulations it cites."""
    for node in list(doctree.findall(regulations_list)):
        node.replace_self(regulations_nodes(app, docname))
    if post_of(app.env, docname) is None:
        return
    box = post_citations(app, docname)
    section = next(iter(doctree.findall(nodes.section)), None)
    if box is not None and section is not None:
        section += box


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Write the regulations pages again when what they list changed."""
    titles = {doc: site_of(env).posts[doc].title for doc in cited(env) if doc in site_of(env).posts}
    shown = (sorted((doc, sorted(set(c))) for doc, c in cited(env).items()), sorted(titles.items()))
    return rewritten(env, "kb_citations_listed", shown, REGULATIONS_PAGE)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("kb_citations", {}, "env", types=frozenset({dict}))
    app.add_directive("kb-regulations", RegulationsDirective)
    app.add_node(regulations_list)
    app.connect("config-inited", on_config_inited)
    cited.connect(app)
    app.connect("env-get-updated", on_env_get_updated)
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
