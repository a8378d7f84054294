"""The preview rows of ``make bench``: ``make serve`` saved and polled (:mod:`kb.bench`)."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kb import model
from kb.bench.corpus import ROOT, generate

PREVIEW_FILES = ("conf.py", "Makefile", "requirements.txt", model.VOCABULARY_FILE)
PREVIEW_DIRS = (model.POSTS_DIR, model.AUTHORS_DIR, model.SERIES_DIR, "kb", "_static", "_templates")
#: How often a preview is edited and read back, for the median.
PREVIEW_EDITS = 5
#: The most a consultant should wait between saving a post and seeing it: on
#: the real site, and on the corpus of ``PREVIEW_CORPUS`` posts.
PREVIEW_TARGET_S = 1.5
PREVIEW_CORPUS_TARGET_S = 1.0
PREVIEW_CORPUS = 2000
#: The most the preview's search may take to find the new text of a save.
PREVIEW_SEARCH_TARGET_S = 3.0
#: What the preview prints at the end of each build, and how often a consultant saves at
#: most (every save's rebuild ends first): the pace at which the preview was always measured,
#: when search took 4 s and the next save came 1 s after it.
BUILT = "build succeeded"
PREVIEW_SAVE_EVERY_S = 5.0
#: How long the first build of a preview, and each step after a save, may take.
PREVIEW_START_S = 900
PREVIEW_STEP_S = 120


def fetch(url: str) -> str:
    """The page at *url*; empty if it cannot be read whole (it may be being written)."""
    with contextlib.suppress(OSError, http.client.HTTPException), urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode("utf-8", errors="replace")
    return ""


def copy_of_the_site(workdir: Path) -> Path:
    """The real site's content and code, copied into *workdir*."""
    site = workdir / "preview"
    site.mkdir(parents=True)
    pages = [p.name for p in ROOT.glob("*.md") if p.name != "README.md"]
    for name in (*PREVIEW_FILES, *pages):
        shutil.copy2(ROOT / name, site / name)
    for name in PREVIEW_DIRS:
        shutil.copytree(ROOT / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    return site


def preview_latency(workdir: Path) -> dict[str, Any]:
    """Edit-to-visible and edit-to-search in ``make serve`` on a copy of the real site (its first post)."""
    site = copy_of_the_site(workdir)
    return {"site": "real site", **edit_in_preview(site, sorted((site / model.POSTS_DIR).glob("*.md"))[0])}


def preview_corpus_latency(workdir: Path, size: int = PREVIEW_CORPUS) -> dict[str, Any]:
    """The same on the generated corpus of *size* posts, editing its newest post (listed on most pages)."""
    corpus = generate(workdir / f"preview-{size}", size)
    for name in ("Makefile", "requirements.txt"):
        shutil.copy2(ROOT / name, corpus.kb / name)
    return {"site": f"{size} posts", **edit_in_preview(corpus.kb, corpus.kb / corpus.posts[-1])}


def search_finds(outdir: Path, page: str, word: str) -> bool:
    """Whether the preview's search, as its search page merges its indexes in *outdir*, finds *word* in *page*."""
    from kb.preview import recent

    with contextlib.suppress(OSError, ValueError, EOFError, KeyError, IndexError):  # while being written
        return f"/{page}" in recent.found(outdir, word)
    return False


class Reloads:
    """When the preview tells the browser to reload (on its websocket), noted in a thread."""

    def __init__(self, port: int) -> None:
        from websockets.sync.client import connect

        self.times: list[float] = []
        self.socket = connect(f"ws://127.0.0.1:{port}/websocket-reload")
        threading.Thread(target=self.listen, daemon=True).start()

    def listen(self) -> None:
        with contextlib.suppress(Exception):  # until the preview stops
            for _message in self.socket:
                self.times.append(time.perf_counter())

    def since(self, moment: float) -> float | None:
        """Seconds from *moment* to the first reload after it, if there was one."""
        return next((t - moment for t in self.times if t > moment), None)


def until(server: subprocess.Popen[bytes], log: Path, done: Callable[[], bool], within: float) -> float:
    """Seconds until *done*; TimeoutError (with the log) after *within*, or if the preview stopped."""
    start = time.perf_counter()
    while not done():
        if server.poll() is not None or time.perf_counter() - start > within:
            raise TimeoutError(log.read_text(errors="replace")[-4000:])
        time.sleep(0.02)
    return time.perf_counter() - start


def edit_in_preview(site: Path, post: Path) -> dict[str, Any]:
    """Start the Makefile's preview of *site*, then save a new first paragraph into *post* several times.

    After each save, the served page is polled until it shows the new text
    (edit-to-visible), the moment the browser is told to reload is noted, then
    the preview's search is polled until it finds the new word
    (edit-to-search); the number of rebuilds each save set off is counted.
    The next save comes once the rebuild has ended, :data:`PREVIEW_SAVE_EVERY_S` after the last.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    venv = Path(sys.prefix)
    command = ["make", "--no-print-directory", "-o", str(venv / ".installed"), f"VENV={venv}", "serve", f"PORT={port}"]
    log = site.parent / f"{site.name}-preview.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=site, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    page = post.relative_to(site).with_suffix(".html").as_posix()
    outdir = site / "_build" / "serve"
    bundle = outdir / "pagefind"
    shown = f"http://127.0.0.1:{port}/{page}"
    times: dict[str, list[float]] = {"seconds": [], "reload_seconds": [], "search_seconds": []}
    try:
        # The first build and its search index (the marker is written last), and the server listening.
        until(server, log, lambda: (bundle / "kb-indexed.json").is_file() and bool(fetch(shown)), PREVIEW_START_S)
        reloads = Reloads(port)
        head, _, rest = post.read_text(encoding="utf-8").partition("\n---\n\n")
        for number in range(PREVIEW_EDITS):
            word = f"kbprobe{number}x{time.time_ns()}"
            saved = time.perf_counter()
            post.write_text(f"{head}\n---\n\n{word.capitalize()}. {rest}", encoding="utf-8")
            times["seconds"].append(until(server, log, lambda w=word: w.capitalize() in fetch(shown), PREVIEW_STEP_S))
            until(server, log, lambda s=saved: reloads.since(s) is not None, PREVIEW_STEP_S)
            times["reload_seconds"].append(reloads.since(saved))
            until(server, log, lambda w=word: search_finds(outdir, page, w), PREVIEW_STEP_S)
            times["search_seconds"].append(time.perf_counter() - saved)
            # The rest of the rebuild (feeds, listing pages); the next save comes no sooner than
            # PREVIEW_SAVE_EVERY_S after this one.
            until(server, log, lambda n=number: log.read_text(errors="replace").count(BUILT) > n + 1, PREVIEW_STEP_S)
            time.sleep(max(0.0, saved + PREVIEW_SAVE_EVERY_S - time.perf_counter()))
        rebuilds = log.read_text(errors="replace").count("kb: rebuilding")
    except TimeoutError as error:
        return {"ok": False, "log": str(error)}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    medians = {key.replace("seconds", "median_s"): statistics.median(values) for key, values in times.items()}
    return {"ok": True, "edits": PREVIEW_EDITS, **times, **medians, "rebuilds_per_save": rebuilds / PREVIEW_EDITS}
