"""The content model against hostile front matter: bounded, located, never a traceback.

Each class of input that once crashed ``make check`` or the build, or slipped
through into the site, has a case here: deep nesting, huge and mistyped
values, escaped surrogates and control characters, a byte-order mark, YAML
mistakes told at the wrong line, duplicate keys, markup in titles, links that
lead outside the repository.  A property test then throws generated hostile
front matter at ``make check``'s code and at the build's content loading.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import os
import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from ablog.blog import slugify as ablog_slugify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sphinx.testing.util import SphinxTestApp

from kb import cli, content, model
from kb.model import frontmatter
from tests.conftest import build

ROOTS = Path(__file__).parent / "roots"
NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
VOCABULARY = "tags:\n  GMP: {description: Good practice.}\npractices:\n  Quality Systems: {description: QS.}\n"
AUTHOR = "---\nname: Mark Roache\n---\n\nBio.\n"
SUMMARY_TYPO = "sumary"  # codespell:ignore
STATUS_TYPO = "ongoin"  # codespell:ignore
PRACTICE_TYPO = "Quality Sytems"  # codespell:ignore
SOUND = {
    "title": "A Post",
    "date": "2023-05-01",
    "author": "MR",
    "tags": "GMP",
    "practice": "Quality Systems",
}


def front(**values: str) -> str:
    """A post whose front matter holds *values* (raw YAML text) over the sound ones."""
    lines = [f"{key}: {value}" for key, value in {**SOUND, **values}.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\n\nThe introduction.\n"


def site_of(tmp_path: Path, files: dict[str, str | bytes]) -> model.Site:
    for name, text in {"vocabulary.yaml": VOCABULARY, "authors/MR.md": AUTHOR, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
    return model.load(tmp_path, now=NOW)


def problems_of(tmp_path: Path, post: str | bytes) -> list[str]:
    return [str(p) for p in site_of(tmp_path, {"posts/p.md": post}).problems]


def checked(root: Path) -> tuple[int, str]:
    """``make check`` on *root*, printing into a strict UTF-8 stream as a terminal would."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    code = cli.check(root, out=out)
    out.flush()
    return code, raw.getvalue().decode("utf-8")


# -- the package --------------------------------------------------------------------


def test_no_function_of_the_extensions_is_over_60_lines() -> None:
    package = Path(model.__file__).parent.parent
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{module.relative_to(package)}: {node.name}"
                assert node.end_lineno - node.lineno < 60, where


def test_the_parse_cache_stamp_covers_every_module_of_the_model(tmp_path: Path) -> None:
    package = tmp_path / "model"
    shutil.copytree(Path(model.__file__).parent, package)
    before = frontmatter.ParsedFrontMatter.stamp()
    assert before == frontmatter.ParsedFrontMatter.stamp()
    for module in sorted(Path(model.__file__).parent.glob("*.py")):
        original = module.read_bytes()
        try:
            module.write_bytes(original + b"\n# changed\n")
            assert frontmatter.ParsedFrontMatter.stamp() != before, module.name
        finally:
            module.write_bytes(original)
    assert frontmatter.ParsedFrontMatter.stamp() == before


def test_the_guide_states_the_limits_the_model_enforces() -> None:
    guide = (Path(__file__).parent.parent / "guide.md").read_text(encoding="utf-8")
    table = guide[guide.index("(limits)=") :]
    rows = {
        "the front matter as a whole": f"{model.MAX_FRONT_MATTER_BYTES:,} bytes",
        "lists inside lists": f"{model.MAX_DEPTH} levels",
        "entries in one list or mapping": f"| {model.MAX_ITEMS} |",
        "a title, an author's name": f"{model.FIELDS['title'].limit} characters",
        "summary": f"{model.FIELDS['summary'].limit:,} characters",
        "a tag or practice name, an alias": f"{model.FIELDS['aliases'].limit} characters",
        "a description": f"{model.FIELDS['description'].limit:,} characters",
        "a link's label or address": f"{model.FIELDS['links'].limit:,} characters",
        "a post's body": f"{model.MAX_POST_BYTES // 1000} KB; at most {model.MAX_TAGS} tags",
    }
    for what, limit in rows.items():
        row = next(line for line in table.splitlines() if what in line)
        assert limit in row, (row, limit)
    assert {model.FIELDS[key].limit for key in ("name", "role", "expertise", "photo")} == {model.SHORT_TEXT}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_slugify_is_ablogs_rule(text: str) -> None:
    assert model.slugify(text) == ablog_slugify(text)


# -- bounds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "post", "expected"),
    [
        (
            "deep block list",
            front(summary="\n  " + "- " * 3000 + "x"),  # a block list 3,000 levels deep, on one line
            "posts/p.md:8: values are nested more than 6 levels deep",
        ),
        (
            "deep flow list",
            front(summary="[" * 3000 + "]" * 3000),
            "posts/p.md:7: values are nested more than 6 levels deep",
        ),
        ("one megabyte title", front(title="x" * 1_000_000), "posts/p.md:2: the front matter is 1,000,"),
        ("long title", front(title="x" * 5000), "posts/p.md:2: title is 5,000 characters long, over the limit of 300"),
        ("long summary", front(summary="y" * 3001), "posts/p.md:7: summary is 3,001 characters long"),
        (
            "summary list",
            front(summary="[20230524, [true, {k0: 3.0}]]"),
            "posts/p.md:7: summary must be text, not a list",
        ),
        ("summary mapping", front(summary="{a: 1}"), "posts/p.md:7: summary must be text, not a mapping"),
        ("title true", front(title="yes"), "posts/p.md:2: title must be text, not true"),
        ("too many tags", front(tags="[" + ", ".join(["GMP"] * 21) + "]"), "posts/p.md:5: tags has 21 entries"),
        ("alias", front(summary="&a x", title="*a"), "posts/p.md:2: YAML anchors and aliases"),
        (
            "many reviews",
            front(reviewed="[" + ", ".join(["{by: MR, on: 2023-06-01}"] * 21) + "]"),
            "posts/p.md:7: reviewed has 21 entries, over the limit of 20",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else None,
)
def test_hostile_values_are_refused_at_their_line(tmp_path: Path, name: str, post: str, expected: str) -> None:
    site = site_of(tmp_path, {"posts/p.md": post})
    assert any(str(p).startswith(expected) for p in site.problems), [str(p)[:200] for p in site.problems]
    assert site.posts["posts/p"].status == "invalid"  # the build leaves it out: nothing of it is written


def test_a_long_title_is_never_handed_on(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"posts/p.md": front(title="x" * 5000)})
    assert site.posts["posts/p"].title == ""
    config = SimpleNamespace(kb_site_url="https://kb.example/", exclude_patterns=[], kb_include_drafts=False)
    content.derive_settings(config, site)
    assert "posts/p.md" in config.exclude_patterns


@pytest.mark.parametrize(
    ("post", "expected"),
    [
        (front(author='"\\ud83d\\ude00"'), r"posts/p.md:4: author '\ud83d\ude00' holds the invisible"),
        (front(title='"A \\ud83d\\ude00 title"'), r"posts/p.md:2: title 'A \ud83d\ude00 title' holds the invisible"),
        (front(title='"Bell \\a"'), r"posts/p.md:2: title 'Bell \x07' holds the invisible or invalid character '\x07'"),
        (front(title="A\x00B"), r"posts/p.md:2: malformed YAML: the character '\x00' cannot appear in YAML"),
        (front(title="A\x1bB"), r"posts/p.md:2: malformed YAML: the character '\x1b' cannot appear in YAML"),
    ],
    ids=["surrogate author", "surrogate title", "escaped control", "NUL", "escape character"],
)
def test_problems_print_whatever_characters_they_hold(tmp_path: Path, post: str, expected: str) -> None:
    site_of(tmp_path, {"posts/p.md": post})
    code, printed = checked(tmp_path)
    assert code == 1
    assert expected in printed, printed
    assert printed.isprintable() or all(line.isprintable() for line in printed.splitlines())


def test_a_byte_order_mark_and_windows_line_ends_are_accepted(tmp_path: Path) -> None:
    post = ("\ufeff" + front()).replace("\n", "\r\n")
    site = site_of(tmp_path, {"posts/p.md": post.encode("utf-8")})
    assert site.problems == []
    assert site.posts["posts/p"].published
    assert site.posts["posts/p"].line("practice") == 6


# -- YAML mistakes in plain words ------------------------------------------------------


@pytest.mark.parametrize(
    ("post", "expected"),
    [
        (
            '---\ntitle: A Post\ndate: 2023-05-01\nsummary: "unclosed\nauthor: MR\ntags: GMP\n---\n\nText.\n',
            'posts/p.md:4: malformed YAML: the quote " opened here is never closed. '
            'Fix: end the value with " on the same line',
        ),
        (
            "---\ntitle: A Post\n  date: 2023-05-01\nauthor: MR\n---\n\nText.\n",
            "posts/p.md:3: malformed YAML: this line is indented differently from the keys around it",
        ),
        (
            "---\ntitle: A Post\ntags:\n  - GMP\n - Training\nauthor: MR\n---\n\nText.\n",
            "posts/p.md:5: malformed YAML: this line is indented differently from the keys around it",
        ),
        (
            "---\ntitle: A Post\nauthor: MR\n date: 2023-05-01\n---\n\nText.\n",
            "posts/p.md:4: malformed YAML: this line is indented differently",
        ),
        (
            "---\ntitle: A Post\ntags:\n\t- GMP\n---\n\nText.\n",
            "posts/p.md:4: malformed YAML: a tab is used for indenting. Fix: indent with spaces, never tabs",
        ),
        (
            "---\ntitle: Myth 3: Validation\n---\n\nText.\n",
            "posts/p.md:2: malformed YAML: a value holds ': '",
        ),
        (
            "---\ntitle: A Post\nauthor: MR\ntitle: Another\n---\n\nText.\n",
            "posts/p.md:4: the key 'title' is written twice (first on line 2); only one would be kept. "
            "Fix: keep one of the two lines",
        ),
        (
            "---\ntitle: A Post\njust some words\nauthor: MR\n---\n\nText.\n",
            "posts/p.md:3: malformed YAML: this line is not 'key: value'",
        ),
        (
            "---\ntitle: A Post\ntags: [GMP, Training\nauthor: MR\n---\n\nText.\n",
            "posts/p.md:3: malformed YAML: the '[' opened here is not closed",
        ),
        (
            "---\ntitle: 'It's here'\nauthor: MR\n---\n\nText.\n",
            "posts/p.md:2: malformed YAML: the line goes on after its value has ended (at a closing quote or bracket). "
            "Fix: put the whole value in one pair of quotes; in single quotes write ' twice",
        ),
        (
            "---\ntitle: @home\n---\n\nText.\n",
            "posts/p.md:2: malformed YAML: a value cannot start with '@' in YAML. Fix: put the value in quotes",
        ),
    ],
    ids=[
        "unclosed quote",
        "indented key",
        "list item",
        "indented last",
        "tab",
        "colon",
        "twice",
        "no colon",
        "bracket",
        "apostrophe",
        "at",
    ],
)
def test_yaml_mistakes_are_told_in_plain_words_at_their_line(tmp_path: Path, post: str, expected: str) -> None:
    found = problems_of(tmp_path, post)
    assert any(p.startswith(expected) for p in found), found
    if "indented" in expected:
        assert not any("quotes" in p for p in found), found  # never the colon's fix for an indentation error


def test_the_vocabulary_is_bounded_and_located_too(tmp_path: Path) -> None:
    deep = "tags:\n  GMP:\n    description: x\n    aliases: " + "[" * 2000 + "]" * 2000 + "\n"
    site = site_of(tmp_path, {"vocabulary.yaml": deep})
    assert [str(p) for p in site.problems if p.path == "vocabulary.yaml"] == [
        "vocabulary.yaml:4: values are nested more than 6 levels deep. "
        "Fix: write text, a list of text, or label: value lines, as in the guide"
    ]
    twice = "tags:\n  GMP: {description: a}\n  GMP: {description: b}\npractices: {}\n"
    site = site_of(tmp_path, {"vocabulary.yaml": twice})
    assert any(str(p).startswith("vocabulary.yaml:3: the key 'GMP' is written twice") for p in site.problems)


# -- plain text, names, titles -----------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "language"),
    [
        ('"See [the guide](https://example.com)"', "Markdown"),
        ('"![logo](https://example.com/x.png)"', "Markdown"),
        ('"A **bold** claim"', "Markdown"),
        ('"A _subtle_ claim"', "Markdown"),
        ('"Use `make check`"', "Markdown"),
        ('"A <b>bold</b> claim"', "HTML"),
    ],
)
def test_titles_refuse_markup(tmp_path: Path, title: str, language: str) -> None:
    found = problems_of(tmp_path, front(title=title))
    assert any(p.startswith("posts/p.md:2: the title") and f"contains {language}" in p for p in found), found


@pytest.mark.parametrize(
    "title", ['"Myth #3: 5 * 3 < 20 & C&Q"', '"&lt;script&gt; shown as text"', "ISO_9001 snake_case"]
)
def test_titles_keep_plain_characters(tmp_path: Path, title: str) -> None:
    assert problems_of(tmp_path, front(title=title)) == []


def test_two_posts_with_one_title_get_a_warning_not_an_error(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"posts/a.md": front(), "posts/b.md": front(title='"a  post"')})
    assert site.problems == []
    assert [str(w) for w in site.warnings] == [
        "posts/b.md:2: this post has the same title as posts/a.md ('a  post'). "
        "Fix: give each post a title of its own, e.g. with the part or the year"
    ]
    code, printed = checked(tmp_path)
    assert code == 0
    assert "posts/b.md:2: warning: this post has the same title as posts/a.md" in printed


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"posts/p.md": front(practice=PRACTICE_TYPO)}, "did you mean 'Quality Systems'?"),
        ({"posts/p.md": front(tags="[GPM]")}, "did you mean 'GMP'?"),
        ({"posts/p.md": front(author="MRR")}, "did you mean 'MR'?"),
        ({"posts/p.md": front(**{SUMMARY_TYPO: "x"})}, "did you mean 'summary'?"),
        ({"authors/AA.md": "---\nname: Ann\npractise: Quality Systems\n---\n"}, "did you mean 'practice'?"),
        ({"authors/AA.md": "---\nname: Ann\npractice: Quality Sys\n---\n"}, "did you mean 'Quality Systems'?"),
        ({"series/s.md": f"---\ntitle: S\nsummary: S.\nstatus: {STATUS_TYPO}\n---\n"}, "did you mean 'ongoing'?"),
        ({"vocabulary.yaml": VOCABULARY + "tag:\n  X: {description: x}\n"}, "did you mean 'tags'?"),
        ({"vocabulary.yaml": "tags:\n  GMP: {descripton: x}\n"}, "did you mean 'description'?"),  # codespell:ignore
    ],
)
def test_every_unknown_name_gets_a_did_you_mean(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    found = [str(p) for p in site_of(tmp_path, files).problems]
    assert any(expected.rstrip("?") in p.partition(" Fix: ")[2] for p in found), found


# -- links out of the repository ------------------------------------------------------------


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder elsewhere on the machine, holding a sound post and a profile."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "secret.md").write_text(front(title="Secret Outside Words"), encoding="utf-8")
    (folder / "posts").mkdir()
    (folder / "posts" / "also.md").write_text(front(title="Also Outside Words"), encoding="utf-8")
    (folder / "profile.md").write_text(AUTHOR, encoding="utf-8")
    (folder / "vocabulary.yaml").write_text(VOCABULARY, encoding="utf-8")
    return folder


def link(root: Path, name: str, target: Path) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).symlink_to(target)


@pytest.mark.parametrize(
    ("name", "target", "what"),
    [
        ("posts/outside.md", "secret.md", "file"),
        ("posts/linked", "posts", "folder"),
        ("authors/XY.md", "profile.md", "file"),
        ("series/s.md", "secret.md", "file"),
        ("about.md", "secret.md", "file"),
        ("vocabulary.yaml", "vocabulary.yaml", "file"),
    ],
)
def test_a_link_out_of_the_repository_is_refused_by_name(
    tmp_path: Path, outside: Path, name: str, target: str, what: str
) -> None:
    site_of(tmp_path, {"posts/p.md": front()})
    if name == "vocabulary.yaml":
        (tmp_path / name).unlink()
    link(tmp_path, name, outside / target)
    site = model.load(tmp_path, now=NOW)
    located = [str(p) for p in site.problems if p.path == name]
    assert located == [
        f"{name}:1: this {what} is a link to {outside / target}, outside the repository: it is not published. "
        f"Fix: copy the {what} into the repository, or delete the link"
    ]
    assert name in site.refused
    assert not any("Outside Words" in post.title for post in site.posts.values())
    assert "XY" not in site.authors and "s" not in site.series
    assert all(p.path == name for p in site.problems if "outside" in p.message), site.problems


def test_a_link_inside_the_repository_is_content(tmp_path: Path) -> None:
    site_of(tmp_path, {"shared/p.md": front(title="Shared")})
    link(tmp_path, "posts/shared", tmp_path / "shared")
    site = model.load(tmp_path, now=NOW)
    assert site.refused == set()
    assert site.posts["posts/shared/p"].title == "Shared"


def test_the_build_publishes_nothing_from_outside(tmp_path: Path, outside: Path) -> None:
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-model-links", srcdir)
    for name in ("secret.md", "posts/also.md"):
        text = (outside / name).read_text(encoding="utf-8").replace("author: MR", "author: AA")
        (outside / name).write_text(text, encoding="utf-8")
    link(srcdir, "posts/outside.md", outside / "secret.md")
    link(srcdir, "posts/linked", outside / "posts")
    link(srcdir, "about.md", outside / "secret.md")
    (srcdir / "authors" / "BB.md").write_text('---\nname: "Bob\n---\n\nOutside Words.\n', encoding="utf-8")
    huge = (srcdir / "posts" / "inside.md").read_text(encoding="utf-8").replace("A Post From Inside", "x" * 1_000_000)
    (srcdir / "posts" / "huge.md").write_text(huge, encoding="utf-8")
    result = build(srcdir, tmp_path / "out")
    log = result.stderr.replace(f"{srcdir}/", "")
    assert result.returncode != 0
    # A profile whose front matter cannot be read is left out too, reported once, in our words.
    assert 'authors/BB.md:2: WARNING: malformed YAML: the quote " opened here is never closed' in log
    assert "myst.topmatter" not in log
    for name, what in (("posts/outside.md", "file"), ("posts/linked", "folder"), ("about.md", "file")):
        assert f"{name}:1: WARNING: this {what} is a link to " in log, log
    assert "Traceback" not in log and "toctree" not in log, log
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert written, "the rest of the site is built"
    # One megabyte of title is refused, not multiplied into every listing and feed.
    assert "posts/huge.md:2: WARNING: the front matter is 1,000," in log

    assert not any("outside" in p.name or "linked" in p.parts or p.stem == "about" for p in written)
    for path in written:
        if path.suffix in (".html", ".xml", ".js", ".json", ".txt"):
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "Outside Words" not in text and "x" * 1000 not in text, path


def test_a_title_twice_is_a_warning_that_never_fails_a_strict_build(tmp_path: Path) -> None:
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-model-links", srcdir)
    (srcdir / "posts" / "twin.md").write_text(
        (srcdir / "posts" / "inside.md").read_text(encoding="utf-8").replace("2023-05-01", "2023-06-01"),
        encoding="utf-8",
    )
    result = build(srcdir, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "posts/twin.md:2: warning: this post has the same title as posts/inside.md" in result.stdout
    assert "WARNING" not in result.stderr


# -- the property ------------------------------------------------------------------------------

#: Scalars as YAML writes them, with every type PyYAML knows and the characters that break printing.
hostile_scalars = st.one_of(
    st.sampled_from(
        [
            "null",
            "~",
            "true",
            "no",
            "0o17",
            "0x1F",
            "1e400",
            ".nan",
            "-.inf",
            "2023-05-08",
            "2023-02-30T25:00",
            "!!binary aGVsbG8=",
            "!!set {a, b}",
            "!!omap [a: 1]",
            "!!timestamp 2001-12-14",
            "!!str 3",
            "!custom x",
            "!!python/object:os.system x",
            "&a x",
            "*a",
            "|\n  block\n  text",
            ">\n  folded",
            '"\\ud83d\\ude00"',
            '"\\x00\\x1b\\u202e"',
            '"\\ud800"',
            "<b>x</b>",
            "[link](https://x)",
            "@x",
            "`x`",
            "'unclosed",
            '"open',
        ]
    ),
    st.text(max_size=60).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.integers(min_value=0, max_value=400_000).map(lambda n: "x" * n),
)
nesting = st.tuples(st.integers(min_value=1, max_value=3000), st.sampled_from(["flow", "block"])).map(
    lambda spec: "[" * spec[0] + "]" * spec[0] if spec[1] == "flow" else "\n  " + "- " * spec[0] + "x"
)
hostile_values = st.one_of(
    hostile_scalars, nesting, st.lists(hostile_scalars, max_size=30).map(", ".join).map("[{}]".format)
)
hostile_keys = st.sampled_from([*model.POST_KEYS, "redirect", SUMMARY_TYPO, "title", "x"]) | st.text(max_size=8)


@st.composite
def hostile_posts(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(hostile_keys, hostile_values), max_size=8))
    text = "---\n" + "".join(f"{key}: {value}\n" for key, value in pairs) + "---\n\n" + draw(st.text(max_size=40))
    if draw(st.booleans()):
        text = "\ufeff" + text
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory):
    """Sphinx's logging, set up as in a build, writing warnings into a buffer."""
    srcdir = tmp_path_factory.mktemp("logged") / "src"
    shutil.copytree(ROOTS / "test-model-links", srcdir)
    warnings = io.StringIO()
    app = SphinxTestApp("html", srcdir=srcdir, status=io.StringIO(), warning=warnings)
    try:
        yield warnings
    finally:
        app.cleanup()


@settings(
    max_examples=int(os.environ.get("KB_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(post=hostile_posts(), profile=hostile_posts(), entry=st.tuples(hostile_values, hostile_values))
def test_hostile_front_matter_gives_located_problems_in_check_and_build(
    logged, post: bytes, profile: bytes, entry: tuple[str, str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "posts").mkdir()
        (root / "authors").mkdir()
        (root / "posts" / "p.md").write_bytes(post)
        (root / "authors" / "MR.md").write_bytes(profile)
        vocabulary = f"tags:\n  GMP:\n    description: {entry[0]}\n    aliases: {entry[1]}\npractices: {{}}\n"
        (root / "vocabulary.yaml").write_text(vocabulary, encoding="utf-8", errors="surrogatepass")
        code, printed = checked(root)  # make check's code
        for line in printed.splitlines()[:-1]:
            assert re.match(r"^(posts/p\.md|authors/MR\.md|vocabulary\.yaml):\d+: ", line), line
        assert code in (0, 1)
        logged.seek(0)
        logged.truncate()
        app = SimpleNamespace(srcdir=root, doctreedir=root / "_doctrees", parallel=1)
        config = SimpleNamespace(
            kb_include_drafts=False,
            kb_timezone="UTC",
            kb_site_url="https://kb.example/",
            kb_review_every="12 months",
            exclude_patterns=[],
        )
        content.on_config_inited(app, config)  # the build's content loading
        site = app.kb_pending_site
        for problem in site.problems:
            assert f"{root / problem.path}:{problem.line}: WARNING: " in logged.getvalue()
        post_record = site.posts["posts/p"]
        assert post_record.status != "invalid" or "posts/p.md" in config.exclude_patterns
        if post_record.status == "published":
            assert len(post_record.title) <= model.SHORT_TEXT
            assert post_record.summary is None or len(post_record.summary) <= model.LONG_TEXT
