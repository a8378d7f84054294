"""Shared fixtures: sphinx.testing roots, and the real site built once per session.

Tests come in two tiers: ``make test-fast`` runs those that build no site, in
seconds; ``make test`` runs everything.  A test is ``slow`` when it, or a
fixture it uses, builds a site (calls ``build``, ``app.build``, a
``SphinxTestApp``...) or drives the browser: that is worked out at collection
from the code itself, so no test needs a mark by hand.  A test the rule misses
fails at its first build with a message saying how to mark it.
"""

from __future__ import annotations

import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sphinx.application import Sphinx

pytest_plugins = ["sphinx.testing.fixtures", "tests.browsing"]
collect_ignore = ["roots"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def rootdir() -> Path:
    """Where sphinx.testing finds the ``test-<name>`` roots."""
    return Path(__file__).parent / "roots"


@dataclass
class BuiltSite:
    """The real site, built once into a temporary folder."""

    outdir: Path
    returncode: int
    log: str

    def page(self, name: str) -> BeautifulSoup:
        return BeautifulSoup((self.outdir / name).read_text(encoding="utf-8"), "html.parser")

    def warnings(self) -> list[str]:
        return [line for line in self.log.splitlines() if "WARNING" in line or "ERROR" in line]


#: Fixtures that are slow whatever their code says (a Sphinx application, Chromium).
SLOW_FIXTURES = frozenset({"app", "browser"})
#: Names whose call in a test or fixture means that it may build a site (besides
#: any name with "build" in it), and the words of a command line that builds one.
BUILDS = frozenset({"make", "make_app", "SphinxTestApp", "getfixturevalue"})
BUILD_WORDS = frozenset({"sphinx", "html", "kb.preview", "kb.warm"})


def builds(code: types.CodeType) -> bool:
    """Whether *code* (or a function defined inside it) may build a site."""
    if BUILDS & set(code.co_names) or any("build" in name.lower() for name in code.co_names):
        return True
    if BUILD_WORDS & {const for const in code.co_consts if isinstance(const, str)}:
        return True
    return any(builds(const) for const in code.co_consts if isinstance(const, types.CodeType))


def is_slow(item: pytest.Function) -> bool:
    """Whether the test, or a fixture of ours that it uses, builds a site or drives the browser."""
    if SLOW_FIXTURES & set(item.fixturenames) or builds(item.function.__code__):
        return True
    ours = str(Path(__file__).parent)
    fixtures = [f.func for defs in item._fixtureinfo.name2fixturedefs.values() for f in defs]
    codes = [f.__code__ for f in fixtures if hasattr(f, "__code__") and f.__code__.co_filename.startswith(ours)]
    return any(builds(code) for code in codes if code.co_name != "fast_tests_build_nothing")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that builds a site, or drives the browser, as ``slow``."""
    for item in items:
        if isinstance(item, pytest.Function) and is_slow(item):
            item.add_marker(pytest.mark.slow)


class FastTestBuiltError(Exception):
    """A test outside the slow tier built a site."""


@pytest.fixture(autouse=True)
def fast_tests_build_nothing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the fast tier fast: a test not marked slow may not build a site."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise FastTestBuiltError(f"{request.node.nodeid} builds a site: mark it @pytest.mark.slow")

    popen = subprocess.Popen.__init__

    def no_build_process(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        words = [str(word) for word in ([args] if isinstance(args, str | Path) else args)]
        if BUILD_WORDS & set(words) or any(word.endswith("sphinx-build") for word in words):
            refuse()
        popen(self, args, *rest, **kwargs)

    monkeypatch.setattr(Sphinx, "build", refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", no_build_process)


def build(srcdir: Path, outdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-j", "auto", "-b", "html", *extra]
    doctrees = ["-d", str(outdir.parent / f"{outdir.name}.doctrees")]
    return subprocess.run([*cmd, *doctrees, str(srcdir), str(outdir)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    outdir = tmp_path_factory.mktemp("site") / "html"
    result = build(ROOT, outdir)
    return BuiltSite(outdir, result.returncode, result.stdout + result.stderr)
