"""The glossary: terms linked from posts, each listing the posts that use it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import BuiltSite, build

ROOT = Path(__file__).resolve().parent.parent


def used_in(site: BuiltSite, term: str) -> list[str]:
    page = site.page("glossary.html")
    for dt in page.select("dl.glossary dt"):
        if "".join(dt.find_all(string=True, recursive=False)).strip() == term:
            definition = dt.find_next_sibling("dd")
            return [a.get_text() for a in definition.select(".kb-term-posts a")]
    raise AssertionError(f"{term} is not in the glossary")


def test_each_term_lists_the_posts_using_it_newest_first(site: BuiltSite) -> None:
    assert site.returncode == 0, site.log[-3000:]
    users = used_in(site, "Change control")
    from kb import model

    newest_first = [p.title for p in model.load(ROOT).published]
    assert len(users) == 3
    assert users == sorted(users, key=newest_first.index)
    assert used_in(site, "Validation") == []


def test_an_alias_leads_to_its_entry(site: BuiltSite) -> None:
    post = site.page("posts/bacterial-endotoxin-testing-is-on-the-move.html")
    link = next(a for a in post.select("article a") if a.get_text() == "Limulus amebocyte lysate")
    assert link["href"].startswith("../glossary.html#term-")
    assert used_in(site, "LAL") == used_in(site, "Limulus amebocyte lysate") != []


def site_with_glossary(tmp_path: Path, sentence: str) -> tuple[Path, Path]:
    """A small site whose glossary defines Change control, and the post that ends with *sentence*."""
    src = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-series", src)
    (src / "glossary.md").write_text(
        "---\norphan: true\n---\n# Terms\n\n```{glossary}\nChange control\n  Managing changes.\n```\n"
    )
    post = src / "posts" / "myths-1.md"
    post.write_text(post.read_text(encoding="utf-8") + f"\n{sentence}\n", encoding="utf-8")
    return src, post


def test_an_unknown_term_fails_the_build_with_the_closest_ones(tmp_path: Path) -> None:
    src, post = site_with_glossary(tmp_path, "Under {term}`change kontrol`.")
    result = build(src, tmp_path / "html")
    assert result.returncode != 0
    line = len(post.read_text(encoding="utf-8").splitlines())
    output = result.stdout + result.stderr
    assert f"posts/myths-1.md:{line}: WARNING: unknown term 'change kontrol': did you mean 'Change control'?" in output
    assert "term not in glossary" not in output, "one message, ours"


def test_a_hint_is_for_make_check_only_the_strict_build_passes(tmp_path: Path) -> None:
    src, post = site_with_glossary(tmp_path, "Under change control.")
    line = len(post.read_text(encoding="utf-8").splitlines())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "kb", "check", "--hints"]
    checked = subprocess.run(command, cwd=src, env=env, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout
    assert f"posts/myths-1.md:{line}: hint: 'change control' (a glossary term)" in checked.stdout
    result = build(src, tmp_path / "html")
    assert result.returncode == 0, result.stderr[-3000:]
    assert ": hint:" not in result.stdout + result.stderr


# -- hints: terms a post mentions but never links (make check HINTS=1) ------------------------------

GLOSSARY = """\
```{glossary}
CAPA
Corrective and preventive action
  Removing the causes of problems.

Qualification
  Documented evidence that equipment works.

Supplier qualification
  Approving suppliers.

Deviation
  A departure from an instruction.

GxP
  Good practice regulations.
```
"""


def hints_of(body: str) -> list[str]:
    """The hints for a post whose body is *body*, as ``line: mention -> markup``."""
    from kb.rules import markdown, terms

    extensions = ("colon_fence", "deflist", "fieldlist")
    glossary = terms.Glossary(terms.entries_of({"glossary.md": markdown.read(GLOSSARY, extensions)}))
    text = "---\ntitle: T\n---\n\n" + body
    found = terms.post_hints("posts/p.md", markdown.read(text, extensions, prose=True), glossary)
    return [f"{hint.line}: {hint.written} -> {hint.markup}" for hint in sorted(found)]


def test_a_mention_gets_one_hint_at_its_first_line_with_the_markup_to_write() -> None:
    body = "Intro.\n\nThe deviation was\nlogged. Another deviation.\n\nA third deviation.\n"
    assert hints_of(body) == ["7: deviation -> {term}`deviation`"]


def test_abbreviations_match_as_written_and_phrases_in_any_case_across_lines() -> None:
    assert hints_of("We use capa and gxp.\n") == []
    assert hints_of("We use CAPA and GxP.\n") == ["5: CAPA -> {term}`CAPA`", "5: GxP -> {term}`GxP`"]
    body = "A full Corrective and\npreventive Action plan.\n"
    assert hints_of(body) == ["5: Corrective and preventive Action -> {term}`Corrective and preventive Action`"]


def test_a_plural_counts_and_the_markup_names_the_term() -> None:
    assert hints_of("Open CAPAs and deviations.\n") == [
        "5: CAPAs -> {term}`CAPAs <CAPA>`",
        "5: deviations -> {term}`deviations <Deviation>`",
    ]


def test_only_whole_words_and_the_longest_term_count() -> None:
    assert hints_of("Revalidation, requalification and CAPAS.\n") == []
    assert hints_of("Supplier qualification first.\n") == [
        "5: Supplier qualification -> {term}`Supplier qualification`"
    ]
    body = "Supplier qualification, then qualification.\n"
    assert hints_of(body) == [
        "5: Supplier qualification -> {term}`Supplier qualification`",
        "5: qualification -> {term}`qualification`",
    ]


def test_no_hint_in_code_links_roles_headings_or_anchors() -> None:
    body = (
        "Inline `CAPA` code, a [CAPA link](https://example.com/) and {tag}`Deviation`.\n\n"
        "```text\nCAPA in a code block\n```\n\n"
        "(qualification)=\n## Qualification in a heading\n\n"
        "    CAPA in indented code\n"
    )
    assert hints_of(body) == []


def test_a_term_linked_anywhere_gets_no_hint_nor_do_its_aliases() -> None:
    mentions = "A corrective and preventive action, then a deviation.\n"
    assert len(hints_of(mentions)) == 2
    assert hints_of(mentions + "\nLater: {term}`CAPA` and {term}`the deviation <Deviation>`.\n") == []


def test_text_in_tables_lists_and_directives_counts() -> None:
    body = "| Step | What |\n| --- | --- |\n| 1 | Raise a CAPA |\n\n- a GxP item\n\n:::{note}\nA deviation.\n:::\n"
    assert hints_of(body) == [
        "7: CAPA -> {term}`CAPA`",
        "9: GxP -> {term}`GxP`",
        "12: deviation -> {term}`deviation`",
    ]
