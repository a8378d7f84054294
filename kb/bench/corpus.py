"""The corpus ``make bench`` builds: posts with the mix of the real ones (:mod:`kb.bench`)."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb import model
from kb.bench.reference import write_reference

ROOT = Path(__file__).resolve().parent.parent.parent
AUTHORS = 20
FIRST_DATE = dt.date(2019, 1, 7)
#: Posts are dated one a day from FIRST_DATE, several a day when there are more
#: posts than these days: every post is in the past, so every post is published.
DATE_SPAN_DAYS = 2500
#: Most real posts record a review (``reviewed:``): so does this share, within the last days.
REVIEWED, REVIEWED_WITHIN_DAYS = 0.85, 330
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
            shutil.copytree(ROOT / name, kb / name, ignore=shutil.ignore_patterns("__pycache__", "bench"))


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
    write_reference(reference, ROOT)
    return corpus
