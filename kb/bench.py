"""How fast the knowledge base builds as it grows: ``make bench`` (``python -m kb.bench 100 1000``).

For each size N, a corpus of N generated posts is written into a temporary
folder together with the site's real ``conf.py``, extensions, templates, home
page and glossary, 20 generated authors and the real vocabulary with generated
tags added up to 64.  The posts have the mix of the real ones (``posts/``):
600-900 words of neutral filler in three to five sections, with admonitions,
tables, bullet lists, fenced code in five languages, sphinx-design tabs and
cards, a figure (a small SVG of the real site), bold, inline code and web
links, links to earlier posts (``{doc}``, ``{post}``, the previous part of a
series), to an author and a series, glossary terms and citations of every
regulation the site knows (:data:`kb.citations.DEFAULT_CITATIONS`); 1-8 tags,
1-3 authors, and about three in ten posts in series of 2-10 parts.  The
introduction, which listings show, stays plain text, as in the real posts.

The knowledge base is checked the way ``make check`` checks it (a fresh
process: all 2,000 posts must take under 5 s), then built the way ``make
html`` builds it (strict, ``-j auto``): a full build, a rebuild with nothing
changed, a rebuild after editing one post's body and one after changing one
post's tags; after each edit the output is checked for stale pages.

The same posts are also built by the reference, every figure is compared with:
plain Sphinx with the Markdown extensions the posts need (MyST with the same
settings, sphinx-design) and the ``basic`` theme.  The reference must do the
work of reading every post as the site does, so it also resolves the site's own
roles (see *the reference* below): left unknown, each would become an error
message, cheaper than a link, and flatter the comparison.  What the site adds
on top (its theme, listing, tag, author and series pages, feeds, related
posts, the search index) is what the ratios measure.

The cost of reading the posts' history is measured on the same corpus made a
git repository with 10 commits that each change every post: one read of the
whole history (as a build after a new commit does), and one with no new commit
(as every other build does, which must run no git command).

Once per run, ``make serve`` is started on a copy of the real site, a post is
saved several times with a new first paragraph, and the served page is polled
until the new text shows: the edit-to-visible time a consultant waits
(target: 1.5 s), then the preview's search index until it finds the new word
(target: 3 s from the save), and the number of rebuilds each save set off
(one).  The same is measured on a corpus of 2,000 posts, editing its newest
post (target: 1.0 s to visible).

Peak memory is the largest resident set of any process of a build (the main
process or one of its parallel readers), as ``getrusage`` reports it.  Output
is reported per post and by its largest page (which, and how large); the
full build's cost per post at each size is compared with that at the smallest
size of at least 1,000 posts (1.00x: the build grows linearly).  Results are
printed as a table and written to ``_build/bench/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml
from docutils import nodes
from sphinx.domains import Domain, ObjType
from sphinx.roles import XRefRole
from sphinx.util.nodes import make_refnode

from kb import model

if TYPE_CHECKING:
    from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (100, 1000, 2000)
RESULTS = ROOT / "_build" / "bench" / "results.json"
AUTHORS = 20
#: The options of ``make html``.
KB_OPTIONS = ("-W", "-n", "--keep-going", "-j", "auto")
REFERENCE_OPTIONS = ("-j", "auto")
FIRST_DATE = dt.date(2019, 1, 7)
#: Posts are dated one a day from FIRST_DATE, several a day when there are more
#: posts than these days: every post is in the past, so every post is published.
DATE_SPAN_DAYS = 2500
#: Most real posts record a review (``reviewed:``): so does this share, within the last days.
REVIEWED, REVIEWED_WITHIN_DAYS = 0.85, 330
#: The most ``make check`` may take at 2,000 posts.
CHECK_TARGET_S = 5.0
#: Top-level pages copied as they are; the others keep only their title.
SITE_PAGES = ("index.md", "tags.md", "reviews.md", "regulations.md", "glossary.md")


def split(text: str) -> list[str]:
    return text.split()


WORDS = split("""
account action activity address agreement analysis approach area aspect assessment
balance basis batch behaviour benefit budget capacity care case change check choice
clarity client colleague comparison condition context contract control cost course
culture data decision delivery demand design detail development difference direction
discussion document effect effort element environment equipment evidence example
experience factor feature figure focus form framework function goal group growth
guidance habit history idea impact improvement information input instance interest issue
item knowledge language level line list load manner material matter measure meeting
method model moment need note number objective operation option order outcome output
part pattern period person perspective phase picture place plan point policy position
practice pressure priority problem procedure process product programme progress project
purpose quality question range rate reason record relation report request requirement
resource response result review role routine rule sample scale schedule scope section
sequence service set signal site situation skill source space stage standard step story
structure study subject summary supply support system table target task team term test
text theme time tool topic training trend type unit use value version view volume way
week work
""")
VERBS = split("""
adds affects aligns allows balances brings builds changes checks clarifies completes
connects covers defines describes drives enables explains follows guides helps improves
includes informs keeps leads limits links makes meets moves needs opens orders outlines
places plans prepares reaches records reduces reflects shapes shows starts supports
""")
ADJECTIVES = split("""
annual basic broad careful central clear common complete consistent current daily direct
early formal general good great large local main major minor modest new normal open
overall plain practical primary proper recent regular relevant simple single small
specific stable standard steady strong typical useful usual whole wider
""")
FIRST_NAMES = split("""
Alex Blair Casey Dana Eden Frankie Gray Harper Indy Jordan Kai Logan Morgan Noel Parker
Quinn Reese Sage Taylor Vic
""")
LAST_NAMES = split("""
Archer Brook Carter Dale Ellis Fox Grant Hale Irving Jones Keane Lane Moss North Oakes
Price Reed Stone Tate Vale
""")


# -- the corpus --------------------------------------------------------------

#: Tags in the benchmark's vocabulary: the real ones, then generated ones up to this many.
VOCABULARY_TAGS = 64
#: Tags per post, authors per post (weighted), parts per series.
TAGS_PER_POST = (1, 8)
AUTHORS_PER_POST = (1, 1, 1, 2, 3)
SERIES_PARTS = (2, 10)
#: The share of posts that are parts of a series.
IN_SERIES = 0.3
#: The figure the posts show, a small file of the real site.
FIGURE = "figures/retrofit-phases.svg"
#: A few lines of code per language, for fenced code blocks.
CODE = {
    "python": [
        "limit = {n}",
        "for record in batch.records:",
        "    if record.days_open > limit:",
        "        escalate(record)",
    ],
    "yaml": ["review:", "  every: {n} months", "  owner: quality", "  scope: [batch, deviation]"],
    "json": ['{{"batch": "B-{n}",', ' "status": "released",', ' "checks": ["identity", "assay"]}}'],
    "bash": ["make check", "make html", "grep -c deviation report-{n}.txt"],
    "sql": ["SELECT batch, COUNT(*)", "FROM deviations", "WHERE days_open > {n}", "GROUP BY batch;"],
}
ADMONITIONS = ("note", "tip", "warning", "important")


def sentence(rng: random.Random, inline: list[str] | None = None) -> str:
    """A sentence of filler; one of *inline*'s snippets (a link, a role...) replaces a word, if any are left."""
    words = [rng.choice(ADJECTIVES), rng.choice(WORDS), rng.choice(VERBS), "the", rng.choice(ADJECTIVES)]
    words += [rng.choice(WORDS) for _ in range(rng.randint(2, 9))]
    if inline:
        words[rng.randrange(3, len(words))] = inline.pop()
    return " ".join([words[0].capitalize(), *words[1:]]) + "."


def paragraph(rng: random.Random, words: int, inline: list[str] | None = None) -> str:
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        out.append(sentence(rng, inline))
    return " ".join(out)


def fenced(name: str, body: str, fence: str = "```") -> str:
    return f"{fence}{name}\n{body}\n{fence}"


def blocks(rng: random.Random) -> list[str]:
    """The blocks beside prose, in the mix of the real posts: admonitions, tables,
    code in several languages, sphinx-design tabs and cards, a figure, lists."""
    found = [fenced("{" + rng.choice(ADMONITIONS) + "}", paragraph(rng, 30)) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.5:
        language = rng.choice(list(CODE))
        found.append(fenced(language, "\n".join(CODE[language]).format(n=rng.randint(2, 90))))
    if rng.random() < 0.4:
        rows = [
            f"| {rng.choice(WORDS).capitalize()} | {rng.choice(ADJECTIVES)} | {rng.randint(1, 30)} |"
            for _ in range(rng.randint(3, 5))
        ]
        found.append("\n".join(["| Step | Owner | Days |", "| --- | --- | ---: |", *rows]))
    if rng.random() < 0.5:
        found.append("\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(3, 5))))
    if rng.random() < 0.2:
        items = [fenced("{tab-item} " + rng.choice(WORDS).capitalize(), paragraph(rng, 25), ":::") for _ in "abc"]
        found.append(fenced("{tab-set}", "\n\n".join(items), "::::"))
    if rng.random() < 0.25:
        cards = [
            fenced("{grid-item-card} " + rng.choice(WORDS).capitalize(), paragraph(rng, 20), ":::")
            for _ in range(rng.randint(2, 4))
        ]
        found.append(fenced("{grid} 1 1 2 2", "\n\n".join(cards), "::::"))
    if rng.random() < 0.15:
        found.append(fenced("{figure} " + FIGURE, f":alt: {sentence(rng)}\n\n{sentence(rng)}"))
    return found


def body(rng: random.Random, inline: list[str]) -> str:
    """600-900 words: an introduction, then three to five ``##`` sections of prose
    and :func:`blocks`, with the *inline* snippets spread over their sentences."""
    target = rng.randint(600, 900)
    extras = blocks(rng)
    prose = max(200, target - 45 - sum(len(block.split()) for block in extras))
    rng.shuffle(inline)
    # The introduction (the excerpt listings show) stays plain, as in the real posts.
    parts = [paragraph(rng, 45)]
    sections = rng.randint(3, 5)
    per_section = prose // sections
    for number in range(sections):
        parts.append(f"## {rng.choice(ADJECTIVES).capitalize()} {rng.choice(WORDS)} and {rng.choice(WORDS)}")
        parts += [paragraph(rng, per_section // 2, inline), *extras[number::sections]]
        parts.append(paragraph(rng, per_section - per_section // 2, inline))
    return "\n\n".join(parts) + "\n"


def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True)
class Names:
    """What a post may name: its tags and practice; what it may link to or cite:
    earlier posts, authors, series, glossary terms, citations."""

    tags: list[str]
    practices: list[str]
    authors: list[str]
    series: list[str]
    terms: list[str]
    citations: list[str]

    def inline(self, rng: random.Random, index: int, part: tuple[str, int] | None) -> list[str]:
        """The inline markup of one post: bold, code, a web link, links to other
        posts (``{doc}``, ``{post}``, a previous part), an author, a series, glossary terms, citations."""
        word = rng.choice(WORDS)
        found = [f"**{rng.choice(ADJECTIVES)} {rng.choice(WORDS)}**" for _ in range(rng.randint(1, 3))]
        found += [f"`{rng.choice(WORDS)}_{rng.choice(WORDS)}`" for _ in range(rng.randint(1, 2))]
        found.append(f"[{word} guidance](https://example.org/{word})")
        if index:
            found += [f"{{doc}}`post-{rng.randrange(index):05d}`" for _ in range(rng.randint(1, 2))]
            found.append(f"{{post}}`post-{rng.randrange(index):05d}`")
        if part and part[1] > 1:
            found.append(f"{{part}}`{part[0]}/{part[1] - 1}`")
        found.append(f"{{author}}`{rng.choice(self.authors)}`")
        found.append(f"{{series}}`{rng.choice(self.series)}`")
        found += [f"{{term}}`{term}`" for term in rng.sample(self.terms, rng.randint(1, 3))]
        found += rng.sample(self.citations, rng.randint(0, 2))
        return found


def glossary_terms(page: Path) -> list[str]:
    """The terms the glossary page defines (the unindented lines of its ``{glossary}`` block)."""
    block = page.read_text(encoding="utf-8").split("```{glossary}\n", 1)[1].split("\n```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith(" ")]


def known_citations() -> list[str]:
    """A citation of every document the site knows, written as the document's name."""
    from kb.citations import DEFAULT_CITATIONS

    return [f"{{{role}}}`{name}`" for role, source in DEFAULT_CITATIONS.items() for name in source["known"]]


@dataclass
class Corpus:
    """Where the two sites of one size live, and the posts the edits touch."""

    size: int
    kb: Path
    reference: Path
    posts: list[str] = field(default_factory=list)


def write_authors(root: Path, practices: list[str]) -> list[str]:
    folder = root / model.AUTHORS_DIR
    folder.mkdir(parents=True)
    shutil.copy(ROOT / model.AUTHORS_DIR / "index.md", folder / "index.md")
    keys = []
    for index in range(AUTHORS):
        key = f"A{index:02d}"
        name = f"{FIRST_NAMES[index]} {LAST_NAMES[(index * 7) % len(LAST_NAMES)]}"
        practice = practices[index % len(practices)]
        (folder / f"{key}.md").write_text(
            f"---\nname: {name}\nrole: Consultant\npractice: {practice}\n---\n\n"
            f"{name} writes about {practice.lower()}.\n",
            encoding="utf-8",
        )
        keys.append(key)
    return keys


def plan_series(rng: random.Random, size: int) -> dict[int, tuple[str, int]]:
    """Which posts are parts of a series: post index -> (series key, part).

    About three in ten posts, taken in order of date and cut into series of 2-10
    parts (a last one left alone joins the series before it)."""
    members = [index for index in range(size) if rng.random() < IN_SERIES]
    if len(members) < SERIES_PARTS[0]:
        members = list(range(min(size, SERIES_PARTS[0])))
    groups: list[list[int]] = []
    while members:
        length = rng.randint(*SERIES_PARTS)
        groups.append(members[:length])
        members = members[length:]
    if len(groups) > 1 and len(groups[-1]) < SERIES_PARTS[0]:
        groups[-2] += groups.pop()
    return {
        index: (f"series-{key:03d}", part)
        for key, group in enumerate(groups)
        for part, index in enumerate(group, start=1)
    }


def write_series(root: Path, plan: dict[int, tuple[str, int]]) -> list[str]:
    folder = root / model.SERIES_DIR
    folder.mkdir(parents=True)
    shutil.copy(ROOT / model.SERIES_DIR / "index.md", folder / "index.md")
    keys = sorted({key for key, _ in plan.values()})
    for index, key in enumerate(keys):
        (folder / f"{key}.md").write_text(
            f"---\ntitle: Series {index}\nsummary: Generated series number {index}.\nstatus: ongoing\n---\n\n"
            f"The parts of generated series number {index}.\n",
            encoding="utf-8",
        )
    return keys


def write_vocabulary(root: Path) -> tuple[list[str], list[str]]:
    """The real vocabulary with generated tags added up to :data:`VOCABULARY_TAGS`; (tags, practices)."""
    vocabulary = yaml.safe_load((ROOT / model.VOCABULARY_FILE).read_text(encoding="utf-8"))
    rng = random.Random(VOCABULARY_TAGS)
    while len(vocabulary["tags"]) < VOCABULARY_TAGS:
        name = f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(WORDS)}"
        vocabulary["tags"].setdefault(name, {"description": f"Generated tag: {name.lower()}."})
    (root / model.VOCABULARY_FILE).write_text(yaml.safe_dump(vocabulary, sort_keys=False), encoding="utf-8")
    return list(vocabulary["tags"]), list(vocabulary["practices"])


def copy_site(kb: Path) -> None:
    """The real site's configuration, extensions, templates and top-level pages."""
    kb.mkdir(parents=True)
    for name in ("conf.py", *SITE_PAGES):
        shutil.copy(ROOT / name, kb / name)
    for page in ROOT.glob("*.md"):
        # The guide shows real posts: keep only its front matter.  README and PERFORMANCE are not pages.
        if page.name not in (*SITE_PAGES, "README.md", "PERFORMANCE.md"):
            front = page.read_text(encoding="utf-8").split("\n---\n", 1)[0]
            (kb / page.name).write_text(f"{front}\n---\n\nNot part of the benchmark.\n", encoding="utf-8")
    for name in ("kb", "_static", "_templates"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, kb / name, ignore=shutil.ignore_patterns("__pycache__", "bench.py"))


def front_matter(rng: random.Random, index: int, size: int, names: Names) -> list[str]:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6))).capitalize() + f" {index}"
    date = FIRST_DATE + dt.timedelta(days=index * DATE_SPAN_DAYS // max(size, DATE_SPAN_DAYS))
    authors = rng.sample(names.authors, rng.choice(AUTHORS_PER_POST))
    lines = [
        "---",
        f"title: {quoted(title)}",
        f"date: {date.isoformat()}",
        f"author: [{', '.join(authors)}]",
        f"tags: [{', '.join(rng.sample(names.tags, rng.randint(*TAGS_PER_POST)))}]",
        f"practice: {rng.choice(names.practices)}",
    ]
    reviewed = dt.date.today() - dt.timedelta(days=rng.randint(0, REVIEWED_WITHIN_DAYS))
    if rng.random() < REVIEWED and reviewed >= date:
        reviewer = rng.choice([key for key in names.authors if key not in authors])
        lines.append(f"reviewed: {{by: {reviewer}, on: {reviewed.isoformat()}}}")
    return lines


def generate(folder: Path, size: int, seed: int = 2000) -> Corpus:
    """Write both sites for *size* posts below *folder*."""
    rng = random.Random(seed)
    kb, reference = folder / "kb", folder / "reference"
    copy_site(kb)
    tags, practices = write_vocabulary(kb)
    plan = plan_series(rng, size)
    authors, series = write_authors(kb, practices), write_series(kb, plan)
    names = Names(tags, practices, authors, series, glossary_terms(ROOT / "glossary.md"), known_citations())
    corpus = Corpus(size, kb, reference)
    for root in (kb, reference):
        (root / model.POSTS_DIR / FIGURE).parent.mkdir(parents=True)
        shutil.copy(ROOT / model.POSTS_DIR / FIGURE, root / model.POSTS_DIR / FIGURE)
    for index in range(size):
        lines = front_matter(rng, index, size, names)
        part = plan.get(index)
        if part:
            lines += [f"series: {part[0]}", f"part: {part[1]}"]
        text = "\n".join([*lines, "---", "", body(rng, names.inline(rng, index, part))])
        name = f"{model.POSTS_DIR}/post-{index:05d}.md"
        (kb / name).write_text(text, encoding="utf-8")
        (reference / name).write_text(text, encoding="utf-8")
        corpus.posts.append(name)
    write_reference(reference)
    return corpus


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


def write_reference(reference: Path) -> None:
    """The reference's configuration, home page and glossary (its posts are written with the site's)."""
    shutil.copy(ROOT / "glossary.md", reference / "glossary.md")
    (reference / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        'project = "Reference"\n'
        'extensions = ["myst_parser", "sphinx_design", "kb.bench"]\n'
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


# -- measuring ---------------------------------------------------------------

#: Runs one build in a fresh process, so that its children's peak memory is this build's.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
rss, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
log = (done.stdout + done.stderr)[-4000:]
print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_kb": rss, "rc": done.returncode, "log": log}))
"""


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    peak_mb: float
    ok: bool
    log: str = ""


def sphinx(source: Path, options: tuple[str, ...]) -> Run:
    """Build *source* into ``source/_build/html`` (doctrees beside it, not counted) and measure it."""
    build = source / "_build"
    command = [sys.executable, "-m", "sphinx", *options, "-q", "-d", str(build / "doctrees"), "-b", "html"]
    command += [str(source), str(build / "html")]
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    return Run(result["seconds"], result["cpu"], result["rss_kb"] / 1024, result["rc"] == 0, result["log"])


def check_run(source: Path) -> Run:
    """``make check`` on *source*, in a fresh process as a consultant runs it."""
    command = [sys.executable, "-m", "kb", "--root", str(source), "check"]
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True, cwd=source
    )
    result = json.loads(out.stdout)
    return Run(result["seconds"], result["cpu"], result["rss_kb"] / 1024, result["rc"] == 0, result["log"])


#: The real site's files a preview needs.
PREVIEW_FILES = ("conf.py", "Makefile", "requirements.txt", model.VOCABULARY_FILE)
PREVIEW_DIRS = (model.POSTS_DIR, model.AUTHORS_DIR, model.SERIES_DIR, "kb", "_static", "_templates")
#: How often a preview is edited and read back, for the median.
PREVIEW_EDITS = 5
#: The most a consultant should wait between saving a post and seeing it: on
#: the real site, and on the corpus of ``PREVIEW_CORPUS`` posts.
PREVIEW_TARGET_S = 1.5
PREVIEW_CORPUS_TARGET_S = 1.0
PREVIEW_CORPUS = 2000
#: The most the preview's search may take to find the new text of a save.
PREVIEW_SEARCH_TARGET_S = 3.0
#: How long the first build of a preview, and each step after a save, may take.
PREVIEW_START_S = 900
PREVIEW_STEP_S = 120


def fetch(url: str) -> str:
    """The page at *url*; empty if it cannot be read whole (it may be being written)."""
    with contextlib.suppress(OSError, http.client.HTTPException), urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode("utf-8", errors="replace")
    return ""


def copy_of_the_site(workdir: Path) -> Path:
    """The real site's content and code, copied into *workdir*."""
    site = workdir / "preview"
    site.mkdir(parents=True)
    pages = [p.name for p in ROOT.glob("*.md") if p.name != "README.md"]
    for name in (*PREVIEW_FILES, *pages):
        shutil.copy2(ROOT / name, site / name)
    for name in PREVIEW_DIRS:
        shutil.copytree(ROOT / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    return site


def preview_latency(workdir: Path) -> dict[str, Any]:
    """Edit-to-visible and edit-to-search in ``make serve`` on a copy of the real site (its first post)."""
    site = copy_of_the_site(workdir)
    return {"site": "real site", **edit_in_preview(site, sorted((site / model.POSTS_DIR).glob("*.md"))[0])}


def preview_corpus_latency(workdir: Path, size: int = PREVIEW_CORPUS) -> dict[str, Any]:
    """The same on the generated corpus of *size* posts, editing its newest post (listed on most pages)."""
    corpus = generate(workdir / f"preview-{size}", size)
    for name in ("Makefile", "requirements.txt"):
        shutil.copy2(ROOT / name, corpus.kb / name)
    return {"site": f"{size} posts", **edit_in_preview(corpus.kb, corpus.kb / corpus.posts[-1])}


def search_finds(bundle: Path, page: str, word: str) -> bool:
    """Whether the preview's search index in *bundle* finds *word* in *page*."""
    from kb.preview import found

    with contextlib.suppress(OSError, ValueError, EOFError, KeyError, IndexError):  # while being written
        return f"/{page}" in found(bundle, word)
    return False


class Reloads:
    """When sphinx-autobuild tells the browser to reload (on its websocket), noted in a thread."""

    def __init__(self, port: int) -> None:
        from websockets.sync.client import connect

        self.times: list[float] = []
        self.socket = connect(f"ws://127.0.0.1:{port}/websocket-reload")
        threading.Thread(target=self.listen, daemon=True).start()

    def listen(self) -> None:
        with contextlib.suppress(Exception):  # until the preview stops
            for _message in self.socket:
                self.times.append(time.perf_counter())

    def since(self, moment: float) -> float | None:
        """Seconds from *moment* to the first reload after it, if there was one."""
        return next((t - moment for t in self.times if t > moment), None)


def until(server: subprocess.Popen[bytes], log: Path, done: Callable[[], bool], within: float) -> float:
    """Seconds until *done*; TimeoutError (with the log) after *within*, or if the preview stopped."""
    start = time.perf_counter()
    while not done():
        if server.poll() is not None or time.perf_counter() - start > within:
            raise TimeoutError(log.read_text(errors="replace")[-4000:])
        time.sleep(0.02)
    return time.perf_counter() - start


def edit_in_preview(site: Path, post: Path) -> dict[str, Any]:
    """Start the Makefile's preview of *site*, then save a new first paragraph into *post* several times.

    After each save, the served page is polled until it shows the new text
    (edit-to-visible), the moment the browser is told to reload is noted, then
    the preview's search index is polled until it finds the new word
    (edit-to-search); the number of rebuilds each save set off is counted.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    venv = Path(sys.prefix)
    command = ["make", "--no-print-directory", "-o", str(venv / ".installed"), f"VENV={venv}", "serve", f"PORT={port}"]
    log = site.parent / f"{site.name}-preview.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=site, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    page = post.relative_to(site).with_suffix(".html").as_posix()
    bundle = site / "_build" / "serve" / "pagefind"
    shown = f"http://127.0.0.1:{port}/{page}"
    times: dict[str, list[float]] = {"seconds": [], "reload_seconds": [], "search_seconds": []}
    try:
        # The first build and its search index (the marker is written last), and sphinx-autobuild listening.
        until(server, log, lambda: (bundle / "kb-indexed.json").is_file() and bool(fetch(shown)), PREVIEW_START_S)
        reloads = Reloads(port)
        head, _, rest = post.read_text(encoding="utf-8").partition("\n---\n\n")
        for number in range(PREVIEW_EDITS):
            word = f"kbprobe{number}x{time.time_ns()}"
            saved = time.perf_counter()
            post.write_text(f"{head}\n---\n\n{word.capitalize()}. {rest}", encoding="utf-8")
            times["seconds"].append(until(server, log, lambda w=word: w.capitalize() in fetch(shown), PREVIEW_STEP_S))
            until(server, log, lambda s=saved: reloads.since(s) is not None, PREVIEW_STEP_S)
            times["reload_seconds"].append(reloads.since(saved))
            until(server, log, lambda w=word: search_finds(bundle, page, w), PREVIEW_STEP_S)
            times["search_seconds"].append(time.perf_counter() - saved)
            time.sleep(1)  # the rest of the rebuild (feeds, archive pages) before the next save
        rebuilds = log.read_text(errors="replace").count("Rebuilding...")
    except TimeoutError as error:
        return {"ok": False, "log": str(error)}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    medians = {key.replace("seconds", "median_s"): statistics.median(values) for key, values in times.items()}
    return {"ok": True, "edits": PREVIEW_EDITS, **times, **medians, "rebuilds_per_save": rebuilds / PREVIEW_EDITS}


def output_bytes(source: Path) -> int:
    return sum(p.stat().st_size for p in (source / "_build" / "html").rglob("*") if p.is_file())


def largest_page(source: Path) -> dict[str, Any]:
    """The largest HTML page of a built site: its path and size."""
    root = source / "_build" / "html"
    path = max(root.rglob("*.html"), key=lambda p: p.stat().st_size)
    return {"largest_page": path.relative_to(root).as_posix(), "largest_page_kb": path.stat().st_size / 1024}


def pages(source: Path) -> list[Path]:
    """Every page and feed of a built site."""
    root = source / "_build" / "html"
    return sorted(p for p in root.rglob("*") if p.suffix in (".html", ".xml"))


def stale_pages(source: Path, old: str) -> list[str]:
    """Pages that still show *old* text after an edit removed it."""
    root = source / "_build" / "html"
    return [p.relative_to(root).as_posix() for p in pages(source) if old in p.read_text(encoding="utf-8")]


def edit_body(corpus: Corpus) -> tuple[str, str]:
    """Rewrite the first paragraph (the excerpt) of the newest post; return (old, new) text."""
    path = corpus.kb / corpus.posts[-1]
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n---\n\n")
    first, _, tail = rest.partition("\n\n")
    new = f"Edited introduction number {time.time_ns()} replaces the first paragraph."
    path.write_text(f"{head}\n---\n\n{new}\n\n{tail}", encoding="utf-8")
    return first.split(".")[0], new


def edit_tags(corpus: Corpus, tags: list[str]) -> tuple[str, str, str]:
    """Give the post in the middle of the corpus one other tag; return (docname, old tags line, new tag)."""
    name = corpus.posts[len(corpus.posts) // 2]
    path = corpus.kb / name
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("tags: "))
    old = lines[index]
    new = next(t for t in tags if t not in old)
    lines[index] = f"tags: [{new}]"
    path.write_text("\n".join(lines), encoding="utf-8")
    return name.removesuffix(".md"), old, new


def tag_page_lists(source: Path, tag: str, docname: str, site: model.Site) -> bool:
    """Whether one of the pages of *tag*'s listing (the first, or ``page/N.html`` below it) links *docname*."""
    first = source / "_build" / "html" / "blog" / "tag" / f"{site.tags[tag].slug}.html"
    pages = [first, *first.with_suffix("").glob("page/*.html")]
    link = f"{docname.rpartition('/')[2]}.html"
    return any(page.is_file() and link in page.read_text(encoding="utf-8") for page in pages)


#: Commits made in the corpus to measure reading its history; each changes every post.
HISTORY_COMMITS = 10


def measure_history(source: Path) -> dict[str, float]:
    """Seconds to read the history of every post (:mod:`kb.history`), cold and with no new commit."""
    from kb import history

    person = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env = {**os.environ, **person, "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(source), *args], check=True, capture_output=True, env=env)

    git("init", "-q")
    posts = sorted((source / "posts").glob("*.md"))
    for number in range(HISTORY_COMMITS):
        if number:
            for post in posts:
                with post.open("a", encoding="utf-8") as file:
                    file.write(f"\nRevision {number}.\n")
        git("add", "-A")
        git("commit", "-q", "-m", f"Revision {number} of every post")
    cache = source / "_build" / "history.pickle"
    start = time.perf_counter()
    found = history.cached_history(source, cache)
    cold = time.perf_counter() - start
    assert len(found.of(posts[0].relative_to(source).as_posix())) == HISTORY_COMMITS
    start = time.perf_counter()
    history.cached_history(source, cache)
    return {"history_s": cold, "history_noop_s": time.perf_counter() - start}


def progress(size: int, step: str) -> None:
    print(f"[N={size}] {step} ...", file=sys.stderr, flush=True)


def measure_reference(size: int, corpus: Corpus) -> dict[str, Any]:
    """Plain Sphinx + MyST with the basic theme on the same posts: a full build and a no-op rebuild."""
    progress(size, "reference: full build (Sphinx + MyST, basic theme)")
    full = sphinx(corpus.reference, REFERENCE_OPTIONS)
    progress(size, "reference: no-op rebuild")
    noop = sphinx(corpus.reference, REFERENCE_OPTIONS)
    return {
        "full_s": full.seconds,
        "full_cpu_s": full.cpu_seconds,
        "noop_s": noop.seconds,
        "noop_cpu_s": noop.cpu_seconds,
        "peak_mb": full.peak_mb,
        "output_mb": output_bytes(corpus.reference) / 1e6,
        **largest_page(corpus.reference),
        "ok": full.ok,
    }


def measure(size: int, workdir: Path) -> dict[str, Any]:
    progress(size, "generating the corpus")
    corpus = generate(workdir / f"n{size}", size)
    figures: dict[str, Any] = {"posts": size}
    problems: list[str] = []

    progress(size, "make check")
    checked = check_run(corpus.kb)
    if not checked.ok:
        problems.append(f"make check found problems in the corpus:\n{checked.log}")
    figures["check"] = {"seconds": checked.seconds, "cpu_s": checked.cpu_seconds, "ok": checked.ok}

    figures["reference"] = measure_reference(size, corpus)
    progress(size, "kb: full build")
    full = sphinx(corpus.kb, KB_OPTIONS)
    if not full.ok:
        problems.append(f"full build failed:\n{full.log}")
    progress(size, "kb: no-op rebuild")
    noop = sphinx(corpus.kb, KB_OPTIONS)
    progress(size, "kb: rebuild after editing one post's body")
    old, _ = edit_body(corpus)
    edit = sphinx(corpus.kb, KB_OPTIONS)
    stale = stale_pages(corpus.kb, old)
    if stale or not edit.ok:
        problems.append(f"after the body edit, {len(stale)} pages still show the old text: {stale[:5]}")
    progress(size, "kb: rebuild after changing one post's tags")
    site = model.load(corpus.kb)
    docname, _, tag = edit_tags(corpus, list(site.tags))
    retag = sphinx(corpus.kb, KB_OPTIONS)
    retagged = retag.ok and tag_page_lists(corpus.kb, tag, docname, site)
    if not retagged:
        problems.append(f"after the tag change, the page of tag {tag!r} does not list {docname}")
    output = output_bytes(corpus.kb)
    figures["kb"] = {
        "full_s": full.seconds,
        "full_cpu_s": full.cpu_seconds,
        "noop_s": noop.seconds,
        "noop_cpu_s": noop.cpu_seconds,
        "edit_s": edit.seconds,
        "edit_cpu_s": edit.cpu_seconds,
        "retag_s": retag.seconds,
        "retag_cpu_s": retag.cpu_seconds,
        "peak_mb": max(r.peak_mb for r in (full, noop, edit, retag)),
        "output_mb": output / 1e6,
        "kb_per_post": output / 1024 / size,
        **largest_page(corpus.kb),
        "edit_correct": not stale and edit.ok,
        "retag_correct": retagged,
        "ok": full.ok and noop.ok and edit.ok and retag.ok,
    }
    progress(size, f"kb: reading the history of {size} posts x {HISTORY_COMMITS} commits")
    figures["kb"].update(measure_history(corpus.kb))
    figures["problems"] = problems
    for problem in problems:
        print(f"[N={size}] PROBLEM: {problem}", file=sys.stderr, flush=True)
    shutil.rmtree(corpus.kb.parent, ignore_errors=True)
    return figures


# -- reporting ---------------------------------------------------------------

TARGETS = (
    "targets: full <= 1.0x reference; no-op <= 5% and one-post edit <= 10% of full; <= 100 KB/post; <= 800 MB;\n"
    f"make check <= {CHECK_TARGET_S:.0f} s at 2,000 posts; make serve edit-to-visible <= {PREVIEW_TARGET_S} s "
    f"(real site), <= {PREVIEW_CORPUS_TARGET_S} s ({PREVIEW_CORPUS:,} posts); search finds the edit "
    f"<= {PREVIEW_SEARCH_TARGET_S:.0f} s;\n"
    "at 10,000 posts: <= 60 KB/post, largest page <= 1 MB, <= 2.5 GB, cost per post <= 1.15x that at 1,000"
)
#: Full-build cost per post is compared with that of the smallest size at least this large.
PER_POST_BASE = 1000


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}x" if theirs else "-"


def share(mine: float, full: float) -> str:
    return f"{mine / full:.0%} full" if full else "-"


def per_post(figures: dict[str, Any], base: dict[str, Any] | None) -> list[tuple[str, float, float, str]]:
    """Full-build cost per post (ms), wall and CPU; the ratio is to the same cost at
    the *base* size (the smallest of at least :data:`PER_POST_BASE` posts): 1.00x is linear."""
    rows = []
    for step, key in (("full build per post (ms)", "full_s"), ("CPU per post (ms)", "full_cpu_s")):
        mine, theirs = (1000 * figures[side][key] / figures["posts"] for side in ("kb", "reference"))
        shown = ratio(mine, 1000 * base["kb"][key] / base["posts"]) + f" {base['posts']}" if base else ""
        rows.append((step, mine, theirs, shown))
    return rows


def table(results: list[dict[str, Any]], previews: tuple[dict[str, Any], ...] = ()) -> str:
    head = f"{'N':>5}  {'step':<24} {'kb':>10} {'reference':>10} {'ratio':>9}"
    lines = [head, "-" * len(head)]
    base = min((f for f in results if f["posts"] >= PER_POST_BASE), key=lambda f: f["posts"], default=None)
    for figures in results:
        kb, ref = figures["kb"], figures["reference"]
        size = figures["posts"]
        full = kb["full_s"]
        rows = [
            ("full build (s)", full, ref["full_s"], ratio(full, ref["full_s"])),
            ("full build, CPU (s)", kb["full_cpu_s"], ref["full_cpu_s"], ratio(kb["full_cpu_s"], ref["full_cpu_s"])),
            ("no-op rebuild (s)", kb["noop_s"], ref["noop_s"], share(kb["noop_s"], full)),
            ("edit one post's body (s)", kb["edit_s"], None, share(kb["edit_s"], full)),
            ("change one post's tags", kb["retag_s"], None, share(kb["retag_s"], full)),
            ("read history, new commit", kb["history_s"], None, share(kb["history_s"], full)),
            ("read history, none (s)", kb["history_noop_s"], None, share(kb["history_noop_s"], full)),
            ("peak memory (MB)", kb["peak_mb"], ref["peak_mb"], ratio(kb["peak_mb"], ref["peak_mb"])),
            ("output (MB)", kb["output_mb"], ref["output_mb"], ratio(kb["output_mb"], ref["output_mb"])),
            ("output per post (KB)", kb["kb_per_post"], ref["output_mb"] * 1e6 / 1024 / size, ""),
            ("largest page (KB)", kb["largest_page_kb"], ref["largest_page_kb"], ""),
            *per_post(figures, base),
        ]
        if "check" in figures:
            rows.insert(0, ("make check (s)", figures["check"]["seconds"], None, ""))
        for step, mine, theirs, shown in rows:
            other = f"{theirs:10.1f}" if theirs is not None else f"{'':>10}"
            lines.append(f"{size:>5}  {step:<24} {mine:10.1f} {other} {shown:>9}")
        verdict = "correct" if kb["edit_correct"] and kb["retag_correct"] else "STALE PAGES"
        lines.append(f"{size:>5}  {'incremental output':<24} {verdict:>10}")
        lines.append(f"{size:>5}  {'largest page':<24} {kb['largest_page']} (reference: {ref['largest_page']})")
        lines.append("")
    for preview in previews:
        lines.append(preview_line(preview))
    if previews:
        lines.append("")
    return "\n".join([*lines, TARGETS])


def preview_line(preview: dict[str, Any]) -> str:
    """One line for a preview's figures: each save's times, their median, the rebuilds per save."""
    where = f"make serve, {preview.get('site', 'real site')}"
    if not preview.get("ok"):
        return f"{where}: the preview did not show the edit (see results.json)"

    def times(key: str) -> str:
        return ", ".join(f"{s:.2f}" for s in preview[key])

    line = f"{where}: save a post -> page shows it: median {preview['median_s']:.2f} s ({times('seconds')})"
    if "reload_seconds" in preview:
        line += f"; browser reloads: median {preview['reload_median_s']:.2f} s ({times('reload_seconds')})"
    if "search_seconds" in preview:
        line += f"; search finds it: median {preview['search_median_s']:.2f} s ({times('search_seconds')})"
    return f"{line}; {preview['rebuilds_per_save']:.1f} rebuilds per save"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help=f"numbers of posts (default: {DEFAULT_SIZES})")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument("--no-preview", action="store_true", help="skip the make serve latencies")
    args = parser.parse_args(argv)
    sizes = args.sizes or list(DEFAULT_SIZES)
    results = []
    previews: tuple[dict[str, Any], ...] = ()
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as folder:
        if not args.no_preview:
            print("[preview] make serve on the real site: save, then poll the page ...", file=sys.stderr, flush=True)
            previews += (preview_latency(Path(folder)),)
            print(f"[preview] make serve on {PREVIEW_CORPUS} posts ...", file=sys.stderr, flush=True)
            previews += (preview_corpus_latency(Path(folder)),)
        for size in sizes:
            results.append(measure(size, Path(folder)))
            # Written after each size: a long run that is stopped keeps what it measured.
            report = {
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
                "options": {"kb": KB_OPTIONS, "reference": REFERENCE_OPTIONS},
                "results": results,
                "previews": previews,
            }
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(report, indent=2), encoding="utf-8")
            print(table(results[-1:]), file=sys.stderr, flush=True)
    print(table(results, previews))
    print(f"\nwritten to {args.output}")
    return 0 if all(not r["problems"] for r in results) and all(p["ok"] for p in previews) else 1


if __name__ == "__main__":
    sys.exit(main())
