"""The ``kb`` domain's list of what is kept between builds matches the code."""

from __future__ import annotations

import re

from kb import domain

from .conftest import ROOT

KEPT = domain.__doc__ or ""


def test_every_environment_attribute_kept_between_builds_is_listed() -> None:
    found = set()
    for path in sorted((ROOT / "kb").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r"\benv\.(kb_\w+)\s*(?:\[[^\]]*\]\s*)?=[^=]", text))
        found.update(re.findall(r"getattr\((?:app\.)?env, \"(kb_\w+)\"", text))
        found.update(re.findall(r"(?:PerDocument\(|rewritten\(env, )\"(kb_\w+)\"", text))  # kb.kept
    assert {"kb_listed", "kb_related", "kb_site", "kb_terms_used", "kb_citations_listed"} <= found
    assert sorted(name for name in found if f"``env.{name}``" not in KEPT) == []


def test_every_file_kept_beside_the_environment_is_listed() -> None:
    found = set()
    for path in sorted((ROOT / "kb").rglob("*.py")):
        found.update(re.findall(r"\"(kb-[\w.-]+)\"", path.read_text(encoding="utf-8")))
    kept = {name for name in found if "." in name or name == "kb-templates"}
    assert {"kb-links.json", "kb-front-matter.pickle"} <= kept
    assert sorted(name for name in kept if name not in KEPT) == []


def test_the_domain_keeps_only_the_data_it_lists() -> None:
    for key in domain.KBDomain.initial_data:
        assert f"``{key}``:" in KEPT
