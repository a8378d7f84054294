"""Regulation citations: read strictly, linked to the official text, listed by regulation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb import citations

from .conftest import BuiltSite, build

ROOT = Path(__file__).resolve().parent.parent
SOURCES = citations.DEFAULT_CITATIONS


@pytest.mark.parametrize(
    ("role", "text", "document", "url"),
    [
        ("cfr", "21 CFR 211.192", "21 CFR Part 211", "https://www.ecfr.gov/current/title-21/section-211.192"),
        ("cfr", "21 CFR Part 11", "21 CFR Part 11", "https://www.ecfr.gov/current/title-21/part-11"),
        ("eu-gmp", "Annex 11", "EU GMP Annex 11", citations.EUDRALEX_4),
        ("eu-gmp", "EU GMP Chapter 1", "EU GMP Chapter 1", citations.EUDRALEX_4),
        ("ich", "Q9(R1)", "ICH Q9", citations.ICH_QUALITY),
        ("ich", "ICH  Q10", "ICH Q10", citations.ICH_QUALITY),
    ],
)
def test_citations_name_their_document_and_official_text(role: str, text: str, document: str, url: str) -> None:
    found = citations.parse(role, text, SOURCES)
    assert found == citations.Citation(role, " ".join(text.split()), document, url)


@pytest.mark.parametrize(
    ("role", "text", "words", "fix"),
    [
        ("cfr", "21 CFR 211", "is not a citation of US regulations (21 CFR)", "{cfr}`21 CFR 211.192`"),
        ("cfr", "211.192", "is not a citation", "{cfr}`21 CFR Part 211`"),
        ("cfr", "21 CFR Part 999", "21 CFR Part 999 is not a document this site knows", "21 CFR Part 211"),
        ("eu-gmp", "Annex 99", "EU GMP Annex 99 is not a document this site knows", "kb_citations"),
        ("eu-gmp", "Appendix 1", "is not a citation of EU GMP", "{eu-gmp}`Annex 11`"),
        ("ich", "Q99", "ICH Q99 is not a document this site knows", "ICH Q9"),
        ("ich", "E6(R3)", "is not a citation of ICH quality guidelines", "{ich}`Q9(R1)`"),
        ("usp", "<85>", "unknown kind of citation {usp}", "cfr"),
    ],
)
def test_bad_citations_say_the_expected_form(role: str, text: str, words: str, fix: str) -> None:
    found = citations.parse(role, text, SOURCES)
    assert isinstance(found, citations.Finding)
    assert words in found.message
    assert fix in found.fix


def test_the_real_posts_cite_regulations_and_the_page_lists_them(site: BuiltSite) -> None:
    assert site.returncode == 0, site.log[-3000:]
    post = site.page("posts/six-keys-for-effective-deviation-investigators.html")
    link = post.select_one("article a.kb-citation")
    assert link is not None and link.get_text() == "21 CFR 211.192"
    assert link["href"] == "https://www.ecfr.gov/current/title-21/section-211.192"
    cited = [a.get_text() for a in post.select(".kb-post-citations a.kb-citation")]
    assert cited == ["21 CFR 211.192", "EU GMP Chapter 1"]
    page = site.page("regulations.html")
    entry = next(li for li in page.select(".kb-regulations > li") if li.strong.get_text() == "21 CFR Part 211")
    titles = [a.get_text() for a in entry.select(".kb-regulation-posts a")]
    assert "The Six Keys for Effective Deviation Investigators" in titles
    assert len(titles) == len(set(titles)) >= 3


def test_a_malformed_citation_fails_the_build_at_its_line(tmp_path: Path) -> None:
    src = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-series", src)
    post = src / "posts" / "myths-1.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nAs {cfr}`21 CFR 211` requires.\n", encoding="utf-8")
    result = build(src, tmp_path / "html")
    assert result.returncode != 0
    line = len(post.read_text(encoding="utf-8").splitlines())
    assert f"posts/myths-1.md:{line}: WARNING: {{cfr}}`21 CFR 211` is not a citation" in result.stdout + result.stderr
    assert "write it as {cfr}`21 CFR Part 211` or {cfr}`21 CFR 211.192`" in result.stdout + result.stderr


def test_a_post_citing_nothing_has_no_citations_box(site: BuiltSite) -> None:
    page = site.page("posts/crystal-clear-controls-are-not-enough.html")
    assert page.select(".kb-post-citations") == []
    assert isinstance(page, BeautifulSoup)
