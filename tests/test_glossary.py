"""The glossary: terms linked from posts, each listing the posts that use it."""

from __future__ import annotations

import shutil
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


def test_an_unknown_term_fails_the_build_with_the_closest_ones(tmp_path: Path) -> None:
    src = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-series", src)
    (src / "glossary.md").write_text(
        "---\norphan: true\n---\n# Terms\n\n```{glossary}\nChange control\n  Managing changes.\n```\n"
    )
    post = src / "posts" / "myths-1.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nUnder {term}`change kontrol`.\n", encoding="utf-8")
    result = build(src, tmp_path / "html")
    assert result.returncode != 0
    line = len(post.read_text(encoding="utf-8").splitlines())
    output = result.stdout + result.stderr
    assert f"posts/myths-1.md:{line}: WARNING: unknown term 'change kontrol': did you mean 'Change control'?" in output
    assert "term not in glossary" not in output, "one message, ours"
