"""Other Sphinx sites cite posts, series, parts, terms, authors and tags through objects.inv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bs4 import BeautifulSoup

from .conftest import BuiltSite

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://kb.qxp.example/"


def test_another_project_resolves_references_through_the_inventory(site: BuiltSite, tmp_path: Path) -> None:
    assert site.returncode == 0, site.log[-3000:]
    out = tmp_path / "html"
    env = {**os.environ, "KB_INVENTORY": str(site.outdir / "objects.inv")}
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "-n",
        "-b",
        "html",
        str(ROOT / "tests/roots/test-cites-kb"),
        str(out),
    ]
    result = subprocess.run([*command, "-d", str(tmp_path / "doctrees")], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    links = {
        a.get_text(): a["href"] for a in BeautifulSoup((out / "index.html").read_text(), "html.parser").select("li a")
    }
    myth = "posts/myth-2-proactively-remediating-bad-inspection-outcomes.html"
    assert any(text.startswith("Myth #2:") and href == SITE + myth for text, href in links.items())
    assert links["Quality Myths"] == SITE + "series/quality-myths.html"
    assert links["CAPA"] == SITE + "glossary.html#term-CAPA"
    assert links["Brian Duncan"] == SITE + "authors/BD.html"
    assert links["GMP"] == SITE + "blog/tag/gmp.html"
    assert any(
        href
        == SITE
        + "posts/six-keys-for-effective-deviation-investigators.html#six-keys-for-effective-deviation-investigators"
        for href in links.values()
    )
    part_one = [text for text, href in links.items() if href.startswith(SITE + "posts/myth-1-")]
    assert part_one, "the part resolves to the first post of the series"
