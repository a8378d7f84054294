"""The preview's builds (kb/warm.py): forked from a process with everything loaded, the same as a new process's."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kb import bench, warm

from .conftest import ROOT, build
from .test_incremental import POSTS, change_tags, differences, edit_body, pages

if TYPE_CHECKING:
    from collections.abc import Iterator


def running(pid: int) -> bool:
    """Whether process *pid* runs (an ended one not yet waited for is not running)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def sphinx_argv(src: Path) -> list[str]:
    return ["-b", "html", "-d", str(src / "_build" / "doctrees"), str(src), str(src / "_build" / "html")]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return bench.generate(tmp_path / "corpus", POSTS).kb


@pytest.fixture
def builds(corpus: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """The warm process of *corpus*: (its address, its process, its log)."""
    address, log = str(tmp_path / "builds.sock"), tmp_path / "warm.log"
    with log.open("w") as output:
        process = warm.start(address, corpus, output)
    try:
        yield address, process, log
    finally:
        process.terminate()
        process.wait()


def test_warm_builds_give_the_pages_a_new_process_builds(
    builds: tuple[str, subprocess.Popen[bytes], Path], corpus: Path, tmp_path: Path
) -> None:
    """A full build, then edits, each built warm and compared with a clean build in a new process."""
    address, _, log = builds
    for number, edit in enumerate((None, edit_body, change_tags)):
        if edit is not None:
            edit(corpus)
        assert warm.build(address, sphinx_argv(corpus)) == 0, log.read_text()[-3000:]
        clean = tmp_path / f"clean-{number}"
        shutil.copytree(corpus, clean, ignore=shutil.ignore_patterns("_build", "__pycache__"))
        reference = build(clean, clean / "_build" / "html")
        assert reference.returncode == 0, reference.stderr[-3000:]
        found = differences(pages(corpus / "_build" / "html"), pages(clean / "_build" / "html"))
        assert found == [], f"after {edit.__name__ if edit else 'the first build'}: {found}"
    assert log.read_text().count("build succeeded") == 3


def test_a_change_to_loaded_code_is_built_afresh_and_the_code_loaded_again(
    builds: tuple[str, subprocess.Popen[bytes], Path], corpus: Path
) -> None:
    address, process, log = builds
    loaded = Path(warm.__file__)
    assert warm.build(address, sphinx_argv(corpus), changed=[corpus / "posts" / "post-00000.md"]) == 0
    assert "loading the preview's code again" not in log.read_text()
    assert warm.build(address, sphinx_argv(corpus), changed=[loaded]) == 0
    assert "kb: warm.py changed: loading the preview's code again" in log.read_text()
    assert process.poll() is None  # the same process, with the code loaded afresh
    assert warm.build(address, sphinx_argv(corpus)) == 0
    assert log.read_text().count("build succeeded") == 3
    # A build that fails says so in its exit status, and the next still runs.
    assert warm.build(address, ["-b", "html", str(corpus / "missing"), str(corpus / "_build" / "x")]) != 0
    assert process.poll() is None


def test_the_warm_process_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    site = ROOT / "tests" / "roots" / "test-parity"
    starter = f"from kb import warm; print(warm.start({str(tmp_path / 'b.sock')!r}, {str(site)!r}).pid)"
    result = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, cwd=ROOT, check=True)
    pid = int(result.stdout)
    deadline = time.monotonic() + 120  # its warm-up, then a second at most
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(pid)
