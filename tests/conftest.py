"""Shared fixtures: sphinx.testing roots, and the real site built once per session."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

pytest_plugins = ["sphinx.testing.fixtures"]
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


def build(srcdir: Path, outdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-j", "auto", "-b", "html", *extra]
    doctrees = ["-d", str(outdir.parent / f"{outdir.name}.doctrees")]
    return subprocess.run([*cmd, *doctrees, str(srcdir), str(outdir)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    outdir = tmp_path_factory.mktemp("site") / "html"
    result = build(ROOT, outdir)
    return BuiltSite(outdir, result.returncode, result.stdout + result.stderr)
