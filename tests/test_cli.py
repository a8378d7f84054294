"""Authoring from the command line: ``kb new``, ``kb check``, the make targets, hooks and CI."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import cli, model

from .conftest import ROOT, BuiltSite

# sphinx-sitemap 2.9 (in the small site) uses env.app, which Sphinx 11 will remove; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:sphinx_sitemap")

SMALL = Path(__file__).parent / "roots" / "test-drafts"
#: Misspelt keys, as authors type them.
CATEGORY_TYPO = "catgory"  # codespell:ignore
TITLE_TYPO = "titel"  # codespell:ignore
TODAY = dt.datetime.now(dt.UTC).date().isoformat()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A writable copy of a small site: author AA, tags GMP and Training, series steps (parts 1 and 2)."""
    copy = tmp_path / "site"
    shutil.copytree(SMALL, copy)
    return copy


def write(root: Path, name: str, text: str) -> None:
    (root / "posts" / name).write_text(text, encoding="utf-8")


def front_matter(**changes: str | None) -> str:
    """Valid front matter, with some keys changed (a value of None drops the key)."""
    values = {"title": "A Post", "date": "2023-05-08", "author": "AA", "tags": "[GMP]", "practice": "Quality Systems"}
    values.update(changes)
    lines = [f"{key}: {value}" for key, value in values.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\n"


def post_text(**changes: str | None) -> str:
    return front_matter(**changes) + "\nIntroduction.\n"


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(["--root", str(root), "check"])
    return code, capsys.readouterr().out.splitlines()


def new(root: Path, capsys: pytest.CaptureFixture[str], *args: str, ask: cli.Ask | None = None) -> tuple[int, str, str]:
    code = cli.main(["--root", str(root), "new", *args], ask=ask)
    out, err = capsys.readouterr()
    return code, out, err


# -- kb check ------------------------------------------------------------------


def test_check_passes_the_real_site(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = check(ROOT, capsys)
    assert code == 0, lines
    assert re.fullmatch(
        r"checked \d+ posts \(\d+ published, \d+ drafts?, \d+ scheduled\), \d+ authors, \d+ series, "
        r"\d+ tags and \d+ practices in \d+\.\d\d s: no problems",
        lines[-1],
    )
    assert len(lines) == 1


def test_check_prints_every_problem_sorted_as_file_line_message(root: Path, capsys) -> None:
    write(root, "b.md", post_text(author="ZZ", title="Another Post"))
    write(root, "a.md", post_text(tags="[GMPP]", date="May 2023"))
    code, lines = check(root, capsys)
    assert code == 1
    assert lines[:-1] == [
        "posts/a.md:3: date 'May 2023' is not an ISO 8601 date. Fix: write YYYY-MM-DD, e.g. 2023-05-08, "
        "optionally with a time: 2023-05-08T09:30+02:00",
        "posts/a.md:5: unknown tag 'GMPP'. Fix: did you mean 'GMP'? Or add it to vocabulary.yaml",
        "posts/b.md:4: unknown author 'ZZ'. Fix: known values: 'AA'. Or add authors/ZZ.md",
    ]
    assert lines[-1].endswith(": 3 problems")
    assert lines[-1].startswith("checked 5 posts (3 published, 1 draft, 1 scheduled), 1 author, 1 series")


def test_check_counts_held_parts_only_when_asked_to(root: Path, capsys) -> None:
    """Part 2 of 'steps' is a draft: publishing part 3 leaves a gap, which the preview does not have."""
    write(root, "step-3.md", post_text(series="steps", part="3"))
    code, lines = check(root, capsys)
    assert code == 1
    assert lines[0] == (
        "posts/step-3.md:8: series 'steps' jumps to part 3: part 2 is missing. "
        "Fix: renumber the parts 1, 2, 3... or publish part 2"
    )
    assert cli.main(["--root", str(root), "check", "--drafts"]) == 0


def test_check_outside_the_site_says_where_to_run_it(tmp_path: Path, capsys) -> None:
    assert cli.main(["--root", str(tmp_path), "check"]) == 2
    assert capsys.readouterr().err == (
        f"kb: {tmp_path} is not the knowledge base's folder (no conf.py and posts/). Run from it, or give --root.\n"
    )


def test_check_runs_as_make_check_does(root: Path) -> None:
    write(root, "bad.md", post_text(tag="GMP", tags=None))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "kb", "check"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "posts/bad.md:6: unknown front-matter key 'tag'. Fix: did you mean 'tags'?" in result.stdout
    assert "Traceback" not in result.stderr


def test_hints_are_listed_only_when_asked_for_and_never_fail_the_check(root: Path, capsys) -> None:
    (root / "glossary.md").write_text("# Terms\n\n```{glossary}\nCAPA\n  Corrective and preventive action.\n```\n")
    write(root, "mentions.md", post_text(title="Mentions") + "\nEvery CAPA is checked.\n")
    code, lines = check(root, capsys)
    assert code == 0
    assert not [line for line in lines if "hint" in line]
    assert cli.main(["--root", str(root), "check", "--hints"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "posts/mentions.md:11: hint: 'CAPA' (a glossary term) is never linked in this post. "
        "To link this first mention, write {term}`CAPA`"
    )
    assert lines[-1].endswith(": no problems; 1 hint (information, not problems)")
    # A problem still fails the check; the hint is listed after it, and changes nothing.
    write(root, "bad.md", post_text(title="Bad", tags="[GMPP]") + "\nA CAPA too.\n")
    assert cli.main(["--root", str(root), "check", "--hints"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("posts/bad.md:5: unknown tag 'GMPP'")
    assert [line.split(":")[0] for line in lines if ": hint: " in line] == ["posts/bad.md", "posts/mentions.md"]
    assert lines[-1].endswith(": 1 problem; 2 hints (information, not problems)")


def test_make_check_passes_hints_on_only_when_asked() -> None:
    def dry_run(*args: str) -> str:
        done = subprocess.run(["make", "-n", "check", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return done.stdout

    assert "-m kb check --hints" in dry_run("HINTS=1")
    assert "--hints" not in dry_run()


def test_check_stays_fast_at_a_thousand_posts(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No timing assertion (machines differ); the figure is printed with ``pytest -s``.

    The body is a real post's that links no other post (the small site has none of them).
    """
    text = (ROOT / "posts" / "crystal-clear-controls-are-not-enough.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    for number in range(1000):
        write(root, f"generated-{number:04d}.md", front_matter(title=f'"Generated post {number}"') + body)
    start = time.perf_counter()
    code, lines = check(root, capsys)
    seconds = time.perf_counter() - start
    assert code == 0, lines[:5]
    assert lines[-1].startswith("checked 1003 posts")
    with capsys.disabled():
        print(f"\nkb check: 1,003 posts in {seconds:.2f} s")


# -- the front-matter schema -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (post_text(tag="GMP"), "posts/p.md:7: unknown front-matter key 'tag'. Fix: did you mean 'tags'?"),
        (
            post_text(**{CATEGORY_TYPO: "GMP"}),
            f"posts/p.md:7: unknown front-matter key {CATEGORY_TYPO!r}. Fix: did you mean 'practice'?",
        ),
        (
            post_text(**{TITLE_TYPO: "x"}),
            f"posts/p.md:7: unknown front-matter key {TITLE_TYPO!r}. Fix: did you mean 'title'?",
        ),
        (
            post_text(title="Myth 3: Validation"),
            "posts/p.md:2: malformed YAML: a value holds ': ', which YAML reads as the start of another key. "
            'Fix: put the value in quotes: title: "Myth 3: Validation"',
        ),
        (
            post_text(tags="[GMP"),
            "posts/p.md:5: malformed YAML: the '[' opened here is not closed before the next value. "
            "Fix: end the list with ']' on the same line: tags: [GMP, Training]; put text holding , or : in quotes",
        ),
        (
            "\n" + post_text(),
            "posts/p.md:1: front matter must start on line 1 with '---' (it starts on line 2). "
            "Fix: move the '---' block to the top",
        ),
        (
            "Introduction.\n\n" + post_text(),
            "posts/p.md:1: front matter must start on line 1 with '---' (it starts on line 3). "
            "Fix: move the '---' block to the top",
        ),
        (post_text(title=None), "posts/p.md:1: missing 'title'. Fix: add 'title: ...' (the post's title (plain text))"),
    ],
    ids=["tag", "category-typo", "title-typo", "colon", "unclosed", "blank-line", "text-first", "no-title"],
)
def test_front_matter_problem(root: Path, capsys, text: str, expected: str) -> None:
    write(root, "p.md", text)
    code, lines = check(root, capsys)
    assert code == 1
    assert lines[:-1] == [expected]


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        ("2023-05-08", dt.datetime(2023, 5, 8, tzinfo=dt.UTC)),
        ("2023-05-08T09:30", dt.datetime(2023, 5, 8, 9, 30, tzinfo=dt.UTC)),
        ("2023-05-08T09:30:15", dt.datetime(2023, 5, 8, 9, 30, 15, tzinfo=dt.UTC)),
        ("2023-05-08T09:30+02:00", dt.datetime(2023, 5, 8, 7, 30, tzinfo=dt.UTC)),
        ("2023-05-08 09:30Z", dt.datetime(2023, 5, 8, 9, 30, tzinfo=dt.UTC)),
        ("'2023-05-08T09:30-0500'", dt.datetime(2023, 5, 8, 14, 30, tzinfo=dt.UTC)),
    ],
)
def test_iso_dates_with_time_and_zone_are_read_exactly(root: Path, written: str, moment: dt.datetime) -> None:
    write(root, "p.md", post_text(date=written))
    site = model.load(root)
    assert site.problems == []
    assert site.posts["posts/p"].date == moment
    assert site.posts["posts/p"].status == "published"


def test_dates_without_a_zone_are_in_the_site_time_zone(root: Path) -> None:
    conf = root / "conf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + 'kb_timezone = "Europe/Paris"\n', encoding="utf-8")
    assert cli.site_timezone(root) == "Europe/Paris"
    write(root, "p.md", post_text(date="2023-05-08T09:30"))
    site = model.load(root, timezone=cli.site_timezone(root))
    assert site.posts["posts/p"].date == dt.datetime(2023, 5, 8, 7, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "written", ["03/04/2023", "May 2023", "2023-05", "8 May 2023", "2023-13-01", "2023-05-08T25:00"]
)
def test_ambiguous_partial_and_impossible_dates_are_errors(root: Path, capsys, written: str) -> None:
    write(root, "p.md", post_text(date=f"'{written}'"))
    code, lines = check(root, capsys)
    assert code == 1
    assert lines[0].startswith(f"posts/p.md:3: date '{written}' is not an ISO 8601 date. Fix: write YYYY-MM-DD")


# -- kb new ----------------------------------------------------------------------


def test_new_writes_a_valid_post_dated_today(root: Path, capsys) -> None:
    code, out, _ = new(
        root, capsys, "--title", "Why Change Control Matters", "--author", "AA", "--tags", "gmp, training"
    )
    assert code == 0
    assert out == f"{root / 'posts' / 'why-change-control-matters.md'}\n"
    text = (root / "posts" / "why-change-control-matters.md").read_text(encoding="utf-8")
    assert text.startswith(
        "---\ntitle: Why Change Control Matters\n"
        f"date: {TODAY}\nauthor: AA\ntags: [GMP, Training]\npractice: Quality Systems\n---\n\n"
    )
    assert "\n## First section\n" in text
    site = model.load(root)
    assert site.problems == []
    post = site.posts["posts/why-change-control-matters"]
    assert (post.title, post.authors, post.tags, post.status) == (
        "Why Change Control Matters",
        ("AA",),
        ("GMP", "Training"),
        "published",
    )


def test_new_never_overwrites(root: Path, capsys) -> None:
    args = ("--title", "A Published Post", "--author", "AA", "--tags", "GMP")
    before = (root / "posts" / "published-post.md").read_text(encoding="utf-8")
    code, _, err = new(root, capsys, *args, "--slug", "published-post")
    assert code == 1
    assert "kb new: posts/published-post.md already exists. Fix: choose another --slug" in err
    assert (root / "posts" / "published-post.md").read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("option", "value", "key", "line"),
    [("--author", "AB", "author", 4), ("--tags", "GMP, Trainer", "tags", 5), ("--date", "03/04/2023", "date", 3)],
)
def test_new_says_what_the_build_says(root: Path, capsys, option: str, value: str, key: str, line: int) -> None:
    code, out, err = new(root, capsys, "--title", "T", "--author", "AA", "--tags", "GMP", option, value)
    assert (code, out) == (1, "")
    assert not (root / "posts" / "t.md").exists()
    written = value if key != "tags" else f"[{value}]"
    write(root, "t.md", post_text(**{key: f"'{written}'" if key == "date" else written}))
    (expected,) = model.load(root).problems
    assert expected.line == line
    assert f"kb new: {expected.message}. Fix: {expected.fix}\n" in err
    assert "nothing written" in err


def test_new_without_a_terminal_names_what_is_missing(root: Path, capsys) -> None:
    code, out, err = new(root, capsys, "--title", "", "--author", "", "--tags", "", "--part", "", "--draft", "")
    assert (code, out) == (1, "")
    for flag in ("--title", "--author", "--tags", "--practice"):
        assert f"kb new: missing {flag}: " in err
    assert sorted(p.name for p in (root / "posts").iterdir()) == sorted(p.name for p in (SMALL / "posts").iterdir())


def test_new_asks_for_missing_values_and_again_for_wrong_ones(root: Path, capsys) -> None:
    answers = iter(["Asked For", "aa", "AA", "GMPP", "GMP", "step", "steps"])
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return next(answers)

    code, out, _ = new(root, capsys, ask=ask)
    assert code == 0
    assert asked == [
        "Title: ",
        "Author key(s), comma-separated: ",
        "Author key(s), comma-separated: ",
        "Tags, comma-separated: ",
        "Tags, comma-separated: ",
        "Series key (empty for none): ",
        "Series key (empty for none): ",
    ]
    assert "unknown author 'aa'. Fix: did you mean 'AA'? Keys are case-sensitive" in out
    assert "unknown tag 'GMPP'. Fix: did you mean 'GMP'?" in out
    assert "unknown series 'step'. Fix: did you mean 'steps'?" in out
    post = model.load(root).posts["posts/asked-for"]
    assert (post.practice, post.series, post.part) == ("Quality Systems", "steps", 3)


def test_new_asks_only_in_a_terminal(root: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["From A Terminal", "AA", "GMP", ""])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: next(answers))
    code, out, _ = new(root, capsys)
    assert code == 0
    assert out.splitlines()[-1] == str(root / "posts" / "from-a-terminal.md")
    assert model.load(root).posts["posts/from-a-terminal"].series is None


def test_new_stops_cleanly_when_the_author_gives_up(root: Path, capsys) -> None:
    def ask(question: str) -> str:
        raise EOFError

    code, _, err = new(root, capsys, ask=ask)
    assert code == 1
    assert "kb new: stopped, nothing written" in err


def test_new_continues_a_series_and_holds_drafts_and_scheduled_posts(root: Path, capsys) -> None:
    base = ("--author", "AA", "--tags", "GMP")
    assert new(root, capsys, "--title", "Step Three", *base, "--series", "steps", "--draft")[0] == 0
    assert new(root, capsys, "--title", "Later", *base, "--date", "2999-01-01T09:00+01:00")[0] == 0
    site = model.load(root)
    assert site.problems == []
    three = site.posts["posts/step-three"]
    assert (three.series, three.part, three.status) == ("steps", 3, "draft")
    assert site.posts["posts/later"].status == "scheduled"
    code, _, err = new(root, capsys, "--title", "Clash", *base, "--series", "steps", "--part", "2")
    assert code == 1
    assert "part 2 of series 'steps' is also claimed by posts/held-draft-kestrel.md" in err


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1).filter(str.strip))
def test_any_title_survives_the_front_matter(title: str) -> None:
    text, _ = cli.render({"title": title.strip(), "date": "2023-05-08", "author": "AA", "tags": ["GMP"]})
    problems: list[model.Problem] = []
    fm = model.read_front_matter(Path("/site"), Path("/site/posts/p.md"), problems, text)
    assert problems == []
    assert fm is not None
    assert str(fm.values["title"]) == title.strip()


# -- make post, make check, make html, as a new author runs them ----------------


def make(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real Makefile in *root*, with this test run's Python environment as its .venv."""
    venv = Path(sys.prefix)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("TITLE", "AUTHOR", "TAGS", "PRACTICE", "SERIES", "PART", "DATE", "DRAFT"):
        env.pop(name, None)
    command = ["make", "--no-print-directory", "-o", str(venv / ".installed"), f"VENV={venv}", *args]
    return subprocess.run(command, cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_post_then_check_then_html(root: Path) -> None:
    shutil.copy2(ROOT / "Makefile", root)
    shutil.copy2(ROOT / "requirements.txt", root)
    empty = make(root, "post")
    assert empty.returncode != 0
    assert "kb new: missing --title" in empty.stderr
    assert "Traceback" not in empty.stderr
    started = make(root, "post", 'TITLE=Why "Change Control" Matters', "AUTHOR=AA", "TAGS=GMP, Training")
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[-1] == "posts/why-change-control-matters.md"
    # make post's placeholder text is not content: the check says what to write.
    scaffolded = make(root, "check")
    assert scaffolded.returncode != 0
    assert "posts/why-change-control-matters.md:15: the introduction is still make post's placeholder" in (
        scaffolded.stdout
    )
    assert "Fix: write the introduction" in scaffolded.stdout
    path = root / "posts" / "why-change-control-matters.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("Introduce the post in one or two sentences.", "Change control keeps validated systems valid.")
    path.write_text(text.replace("## First section", "## What changes"), encoding="utf-8")
    checked = make(root, "check")
    assert checked.returncode == 0, checked.stdout
    assert "checked 4 posts (2 published, 1 draft, 1 scheduled)" in checked.stdout
    built = make(root, "html")
    assert built.returncode == 0, built.stdout + built.stderr
    outdir = root / "_build" / "html"
    page = BeautifulSoup(
        (outdir / "posts" / "why-change-control-matters.html").read_text(encoding="utf-8"), "html.parser"
    )
    assert page.select_one("article h1").get_text(strip=True).rstrip("#") == 'Why "Change Control" Matters'
    home = BeautifulSoup((outdir / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert 'Why "Change Control" Matters' in [a.get_text(strip=True) for a in home.select(".kb-post-title a")]
    # The environment, which knows the held posts, is kept out of the published folder.
    assert not (outdir / ".doctrees").exists()
    for trace in ("kestrel", "osprey"):
        assert [p for p in outdir.rglob("*") if p.is_file() and trace.encode() in p.read_bytes().lower()] == []


# -- the authoring guide ---------------------------------------------------------


def test_guide_documents_every_front_matter_key(site: BuiltSite) -> None:
    page = site.page("guide.html")
    tables = page.select("table.kb-schema")
    assert len(tables) == 3
    rows = [[cell.get_text(" ", strip=True) for cell in row.select("td")] for row in tables[0].select("tbody tr")]
    assert [row[0] for row in rows] == list(model.POST_KEYS)
    for key, required, typ, meaning in rows:
        assert required == ("yes" if model.POST_KEYS[key][0] else "no")
        assert typ == model.KEY_TYPES[key]
        assert meaning == model.POST_KEYS[key][1]


def test_every_schema_key_has_a_type() -> None:
    keys = {*model.POST_KEYS, *model.AUTHOR_KEYS, *model.SERIES_KEYS}
    assert keys <= set(model.KEY_TYPES)


def test_guide_shows_its_examples_and_is_linked_from_home_and_readme(site: BuiltSite) -> None:
    page = site.page("guide.html")
    article = page.select_one("article")
    assert article.select(".sd-tab-set")
    assert article.select(".sd-card")
    assert article.select("figure img[alt]")
    assert article.select(".admonition.note")
    assert "authors/MR.html" in [a["href"] for a in article.select("a[href]")]
    assert "guide.html" in [a["href"] for a in site.page("index.html").select("article a[href]")]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "guide.md" in readme
    assert "pre-commit" in readme


def test_unknown_schema_is_a_located_warning(make_app, tmp_path: Path) -> None:
    srcdir = tmp_path / "schema"
    shutil.copytree(SMALL, srcdir)
    (srcdir / "index.md").write_text("---\ntitle: Schema\n---\n\n```{kb-schema} posts\n```\n", encoding="utf-8")
    app = make_app("html", srcdir=srcdir)
    app.build()
    assert "index.md:5: WARNING: unknown schema 'posts' (did you mean 'post'?)" in app.warning.getvalue()


# -- pre-commit and the publishing workflow ----------------------------------------


def test_pre_commit_hooks_are_local_and_valid() -> None:
    config_path = ROOT / ".pre-commit-config.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(config_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    entries = {hook["id"]: hook["entry"] for repo in config["repos"] for hook in repo["hooks"]}
    assert entries["ruff-check"].startswith(".venv/bin/ruff check")
    assert entries["ruff-format"].startswith(".venv/bin/ruff format")
    assert entries["codespell"].startswith(".venv/bin/codespell")
    assert entries["kb-check"] == "make check"


def test_workflow_tests_before_it_publishes() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text(encoding="utf-8"))
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key "on" as True
    jobs = workflow["jobs"]
    test_steps = [step.get("run", step.get("uses", "")) for step in jobs["test"]["steps"]]
    make_test = test_steps.index("make test")
    # make publish is make html with the books: both replace _build/html only after a successful build.
    make_html = next(i for i, s in enumerate(test_steps) if s.startswith(("make html", "make publish")))
    upload = next(i for i, s in enumerate(test_steps) if s.startswith("actions/upload-pages-artifact"))
    assert make_test < make_html < upload
    assert jobs["test"]["steps"][upload]["with"]["path"] == "_build/html"
    assert jobs["deploy"]["needs"] == "test"
    assert [step["uses"].split("@")[0] for step in jobs["deploy"]["steps"]] == ["actions/deploy-pages"]
    assert jobs["deploy"]["permissions"] == {"actions": "read", "pages": "write", "id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}
