"""The preview's builds (kb/warm.py): forked from a process with everything loaded, the same as a new process's."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sphinx.application import ENV_PICKLE_FILENAME
from sphinx.environment import BuildEnvironment

from kb import bench, warm

from .conftest import ROOT, build
from .test_incremental import POSTS, change_tags, differences, edit_body, pages

if TYPE_CHECKING:
    from collections.abc import Iterator


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
    """A full build, then edits, each built warm and compared with a clean build in a new process.

    Each build asks for the next to be set up before it comes (a standby): the
    edits are built by standbys, whose setting up says nothing.
    """
    address, _, log = builds
    same_title(corpus)
    for number, edit in enumerate((None, edit_body, change_tags)):
        if edit is not None:
            edit(corpus)
        assert warm.build(address, sphinx_argv(corpus), then=sphinx_argv(corpus)) == 0, log.read_text()[-3000:]
        if edit is not None:  # built by a standby: it told the content's warning once it was asked
            assert told_after_setting_up(log.read_text())
        assert_as_built_clean(corpus, tmp_path / f"clean-{number}", edit.__name__ if edit else "the first build")
        # The environment a standby pickled aside, for the next build: whole, and as it was after reading.
        env = pickle.loads((corpus / "_build" / "doctrees" / ENV_PICKLE_FILENAME).read_bytes())
        assert isinstance(env, BuildEnvironment)
        sources = list((corpus / "posts").glob("*.md"))
        assert {f"posts/{path.stem}" for path in sources} <= env.all_docs.keys()
        newest = max(sources, key=lambda path: path.stat().st_mtime_ns)
        assert env.all_docs[f"posts/{newest.stem}"] >= newest.stat().st_mtime_ns // 1000  # read since it changed
    assert log.read_text().count("build succeeded") == 3
    assert log.read_text().count("Running Sphinx") == 3  # what a standby said while set up is told too


def same_title(corpus: Path) -> None:
    """Give a post another's title: each build tells it (a warning, not an error)."""
    lines = (corpus / "posts" / "post-00002.md").read_text().splitlines()
    title = next(line for line in lines if line.startswith("title:"))
    post = corpus / "posts" / "post-00001.md"
    mine = post.read_text().splitlines()
    post.write_text("\n".join(title if line.startswith("title:") else line for line in mine) + "\n")


def told_after_setting_up(log: str) -> bool:
    """Whether the last build told the content's warning after loading Sphinx's environment, as a
    standby does (a build set up the usual way tells it before)."""
    last = log.rpartition("Running Sphinx")[2]
    return last.index("loading pickled environment") < last.index("has the same title as")


def assert_as_built_clean(corpus: Path, clean: Path, after: str) -> None:
    """The pages of *corpus* are those of a clean build of a copy of it in a new process."""
    shutil.copytree(corpus, clean, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    reference = build(clean, clean / "_build" / "html")
    assert reference.returncode == 0, reference.stderr[-3000:]
    found = differences(pages(corpus / "_build" / "html"), pages(clean / "_build" / "html"))
    assert found == [], f"after {after}: {found}"


def test_a_standby_declines_what_it_cannot_take_and_the_build_is_set_up_afresh(
    builds: tuple[str, subprocess.Popen[bytes], Path], corpus: Path, tmp_path: Path
) -> None:
    """A change to conf.py or a template, or content that changes a setting, is built the usual way."""
    address, _, log = builds
    argv = sphinx_argv(corpus)
    same_title(corpus)
    assert warm.build(address, argv, then=argv) == 0
    conf, template = corpus / "conf.py", corpus / "_templates" / "kb-footer.html"
    author = corpus / "authors" / "A99.md"
    profile = "---\nname: Nora Newcomer\nrole: Consultant\n---\n\nNora Newcomer writes about audits.\n"
    edits = [
        ("conf.py changed", conf, lambda: conf.write_text(conf.read_text() + "\nhtml_title = 'Renamed'\n")),
        ("kb-footer.html changed", template, lambda: template.write_text(template.read_text() + "\n<!-- x -->\n")),
        ("the content changes a setting", author, lambda: author.write_text(profile)),  # ABlog's authors
    ]
    for number, (said, path, edit) in enumerate(edits):
        edit()
        assert warm.build(address, argv, changed=[path], then=argv) == 0, log.read_text()[-3000:]
        assert f"kb: {said}: setting the build up afresh" in log.read_text()
        assert not told_after_setting_up(log.read_text())  # set up the usual way
        assert_as_built_clean(corpus, tmp_path / f"clean-{number}", said)


def test_a_rebuild_answers_once_the_saved_pages_are_written_and_the_build_goes_on(
    builds: tuple[str, subprocess.Popen[bytes], Path], corpus: Path, tmp_path: Path
) -> None:
    """The preview reloads the browser once the saved post's page is written; the listing pages and
    feeds follow, and a build that then fails still says so."""
    address, _, log = builds
    ended = tmp_path / "ended"
    # The build's end takes two seconds, then leaves a mark, or fails if asked to.
    hook = f"""

def setup(app):
    app.connect("build-finished", lambda app, exception: finish(app))


def finish(app):
    import pathlib, time

    time.sleep(2)
    pathlib.Path({str(ended)!r}).touch()
    if pathlib.Path(app.srcdir, "fail").exists():
        raise RuntimeError("stopped at the end")
"""
    with (corpus / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write(hook)
    assert warm.build(address, sphinx_argv(corpus), until_written=True) == 0  # a first build reads every post
    assert not ended.exists()
    assert warm.build(address, sphinx_argv(corpus)) == 0  # waits for the first build, then finds nothing to do
    assert ended.exists()
    ended.unlink()
    edit_body(corpus)
    assert warm.build(address, sphinx_argv(corpus), until_written=True) == 0
    assert "A rewritten first paragraph" in (corpus / "_build" / "html" / "posts" / "post-00011.html").read_text()
    assert not ended.exists()  # the build goes on
    assert warm.build(address, sphinx_argv(corpus)) == 0  # waits for it, then finds nothing to do
    (corpus / "fail").touch()
    (corpus / "posts" / "post-00011.md").touch()
    assert warm.build(address, sphinx_argv(corpus), until_written=True) == 0
    assert warm.build(address, sphinx_argv(corpus)) != 0  # the failing end of the last, then this one's
    assert log.read_text().count(warm.stopped(2)) == 2  # an extension's error


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


def test_a_rebuild_whose_warm_process_is_gone_builds_in_a_new_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-parity", site)
    monkeypatch.setattr(warm, "CONNECT_WITHIN_S", 0.2)
    rebuild = warm.Rebuild(str(tmp_path / "gone.sock"), tuple(sphinx_argv(site)))
    rebuild(changed_paths=[site / "posts" / "good.md"])
    said = capsys.readouterr().out
    assert "kb: rebuilding (good.md)" in said
    assert "the preview's warm process does not answer" in said
    assert "building in a new process" in said
    assert (site / "_build" / "html" / "posts" / "good.html").is_file()


def test_the_warm_process_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    site = ROOT / "tests" / "roots" / "test-parity"
    starter = subprocess.Popen([sys.executable, "-c", "pass"])
    starter.wait()  # ended: the warm process started for it must end too, once warmed up
    command = [sys.executable, "-m", "kb.warm", str(tmp_path / "b.sock"), str(site), str(starter.pid)]
    warm_process = subprocess.Popen(command, cwd=ROOT)
    try:
        assert warm_process.wait(timeout=120) == 0
    finally:
        warm_process.kill()


def members(group: int) -> list[int]:
    """The running processes of process group *group*."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_ctrl_c_stops_every_process_of_the_preview_quietly(tmp_path: Path) -> None:
    """The terminal sends Ctrl+C to the server, the warm process, the search index's and the server's helpers."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-parity", site)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "kb.preview", "--port", str(port), "--doctrees", str(tmp_path / "doctrees")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KB_DRAFTS": "1"}
    with log.open("w") as out:
        preview = subprocess.Popen(
            [*command, ".", str(tmp_path / "serve")], cwd=site, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 300
        while "kb: search: indexed" not in log.read_text() and time.monotonic() < deadline:
            assert preview.poll() is None, log.read_text()
            time.sleep(0.1)
        assert len(members(preview.pid)) >= 3, log.read_text()  # the server, the warm process, its helpers
        os.killpg(preview.pid, signal.SIGINT)
        assert preview.wait(timeout=60) in (0, 130), log.read_text()
        deadline = time.monotonic() + 30
        while members(preview.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert members(preview.pid) == []
        assert "Traceback" not in log.read_text(), log.read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(preview.pid, signal.SIGKILL)
