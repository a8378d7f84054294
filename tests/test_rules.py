"""The rules read the parsed page: code is code, and the names they know are the build's."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from docutils.parsers.rst import directives, roles
from docutils.parsers.rst.languages import en
from sphinx.testing.util import SphinxTestApp

from kb.rules import Settings, documents, markdown, names

ROOTS = Path(__file__).parent / "roots"
EXTENSIONS = ("colon_fence", "deflist", "fieldlist")


def kinds(text: str) -> list[tuple[str, int, str, str]]:
    found = markdown.read(text, EXTENSIONS)
    return [(i.kind, i.line, i.name, i.value) for i in found if i.kind not in ("paragraph", "text")]


def test_code_is_never_a_title_html_or_role() -> None:
    text = (
        "---\ntitle: T\n---\n\n"
        "```sh\n# a comment\n<b>x</b>\n{tag}`X`\n```\n\n"
        "Inline `<b>`, `{tag}`X`` and `[x](javascript:y)`.\n\n"
        "    # indented code\n"
    )
    assert kinds(text) == []


def test_items_carry_the_line_of_the_file() -> None:
    text = "---\ntitle: T\n---\n\nFirst line\nsecond <b>bold</b> line.\n\n## Heading\n\n(label)=\nText {tag}`GMP`.\n"
    assert kinds(text) == [
        ("html", 6, "", "<b>"),
        ("html", 6, "", "</b>"),
        ("heading", 8, "h2", "Heading"),
        ("target", 10, "", "label"),
        ("role", 11, "tag", "GMP"),
    ]


def test_directive_bodies_are_read_at_their_own_lines() -> None:
    text = "Intro.\n\n:::{note}\n:class: x\n\nA <i>tag</i> inside.\n:::\n\n```{code-block} html\n<b>code</b>\n```\n"
    found = kinds(text)
    assert ("directive", 3, "note", "") in found
    assert ("html", 6, "", "<i>") in found
    assert ("directive", 9, "code-block", "html") in found
    assert [k for k in found if k[0] == "html" and k[1] == 10] == []


def test_text_is_prose_only_with_its_line_breaks() -> None:
    text = "## A *heading*\n\nSome *emphasis*, `code`,\na [link](x.md) and {tag}`GMP` end.\n\n`only code`\n"
    found = [(i.line, i.value) for i in markdown.read(text, EXTENSIONS, prose=True) if i.kind == "text"]
    gap = markdown.NOT_TEXT
    assert found == [(3, f"Some emphasis, {gap},\na {gap}{gap} and {gap} end.")]
    # Only hints read the text: the build and a plain check keep no copy of it.
    assert [i for i in markdown.read(text, EXTENSIONS) if i.kind == "text"] == []


def test_directive_options_in_yaml_form() -> None:
    text = "```{image} a.png\n---\ntarget: javascript:x\nalt: A\n---\n```\n"
    (item,) = markdown.read(text, EXTENSIONS)
    assert item.option("target") == "javascript:x"
    assert item.option("alt") == "A"


def test_many_pages_are_read_by_several_processes_as_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = "## Part {n}\n\nSee {{tag}}`GMP` and <b>{n}</b>.\n\n:::{{note}}\nA [link](p{n}.md).\n:::\n"
    texts = [page.format(n=n) for n in range(40)]
    pools: list[object] = []

    class Pool(markdown.ProcessPoolExecutor):  # the real pool, counted
        def __init__(self, *args: object, **kwargs: object) -> None:
            pools.append(self)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(markdown, "PARALLEL_FROM", 10)
    monkeypatch.setattr(markdown, "ProcessPoolExecutor", Pool)
    one = markdown.Cache(None, EXTENSIONS).read(texts)
    assert pools == []
    kept = markdown.Cache(tmp_path / "pages.pickle", EXTENSIONS)
    assert kept.read(texts, workers=2) == one
    assert len(pools) == 1
    assert one[3] == markdown.read(texts[3], EXTENSIONS) and one[3] != one[4]
    kept.save()
    # Kept pages are not read again: nine new ones are too few to start processes.
    again = markdown.Cache(tmp_path / "pages.pickle", EXTENSIONS)
    assert again.read([*texts, *(f"New {n}.\n" for n in range(9))], workers=2)[:40] == one
    assert len(pools) == 1


def test_documents_follow_exclude_patterns(tmp_path: Path) -> None:
    for name in ("index.md", "a/b.md", "_build/x.md", "a/README.md", "deep/x/_sources/y.md", "note.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    settings = Settings.of({"exclude_patterns": ["_build", "**/README.md"]})
    assert documents(tmp_path, settings) == ["a/b.md", "index.md"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], set[str]]:
    """Every role and directive name a build of the site's stack knows."""
    srcdir = tmp_path_factory.mktemp("names") / "src"
    srcdir.mkdir()
    (srcdir / "conf.py").write_text((ROOTS.parent.parent / "conf.py").read_text(encoding="utf-8"), encoding="utf-8")
    (srcdir / "index.md").write_text("# Home\n", encoding="utf-8")
    app = SphinxTestApp("html", srcdir=srcdir, status=StringIO(), warning=StringIO())
    try:
        known_roles = {*roles._roles, *roles._role_registry, *en.roles}
        known_directives = {*directives._directives, *directives._directive_registry, *en.directives}
        for domain in app.env.domains.sorted():
            known_roles |= {f"{domain.name}:{name}" for name in domain.roles}
            known_directives |= {f"{domain.name}:{name}" for name in domain.directives}
            if domain.name in ("std", app.config.primary_domain):
                known_roles |= set(domain.roles)
                known_directives |= set(domain.directives)
    finally:
        app.cleanup()
    from kb.citations import DEFAULT_CITATIONS  # roles made from kb_citations, read from conf.py by the rules

    return known_roles - set(DEFAULT_CITATIONS), known_directives


def test_the_check_knows_the_roles_of_the_build(registry: tuple[set[str], set[str]]) -> None:
    assert sorted(registry[0] - names.ROLES) == []
    assert sorted(names.ROLES - registry[0]) == []


def test_the_check_knows_the_directives_of_the_build(registry: tuple[set[str], set[str]]) -> None:
    assert sorted(registry[1] - names.DIRECTIVES) == []
    assert sorted(names.DIRECTIVES - registry[1]) == []


def test_the_check_knows_what_kb_directives_take() -> None:
    from kb import browse, schema
    from kb.rules import pages

    assert pages.BROWSE_KINDS == browse.KINDS
    assert tuple(schema.SCHEMAS) == pages.SCHEMA_NAMES
