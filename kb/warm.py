"""The preview's builds, each forked from a process that has Sphinx and the site's extensions loaded.

A rebuild in a new process (``python -m sphinx build``) spends most of its time
before reading a single post: Python starts, imports Sphinx, MyST, ABlog, the
theme and ``kb``, and sets up the extensions; on the real site that is about
0.6 s of a 0.9 s rebuild that finds nothing changed (PERFORMANCE.md).

``python -m kb.warm ADDRESS SOURCEDIR`` does that once.  It sets up a Sphinx
application for the site (into a scratch folder, then drops it), then listens
on the Unix socket *ADDRESS*.  Each request (:func:`build`) is a
``sphinx-build`` command line, run by ``sphinx.cmd.build.main`` in a child
forked from the warm process: the child starts with everything loaded, and
whatever it changes dies with it.  The warm process runs no thread, so forking
it is safe.  It answers ``written`` as soon as the pages of the documents the
build read are written (:mod:`kb.builder`), then the exit status: the preview
reloads the browser at the first, while the build writes the listing pages
and feeds (one rebuild after a save, 2,000 posts: PERFORMANCE.md).

A change to a file it has loaded (``kb``'s code, an extension's) would leave
the children running the old code: that request is built in a new process
instead, and the warm process then starts afresh (``exec``) to load the new
code.  The warm process ends when the process that started it has ended.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

#: How long a request waits for the warm process to listen (it may be loading afresh).
CONNECT_WITHIN_S = 120.0
#: How often the warm process checks that the process that started it still runs.
ORPHAN_CHECK_S = 1.0
#: The build under way, if any: stopped with the warm process.
RUNNING: set[int] = set()
#: What the warm process answers once the pages of the documents a build read
#: are written (:mod:`kb.builder`), before the build's exit status.
PAGES_WRITTEN = b"written"


def warm_up(srcdir: Path) -> None:
    """Set up (and drop) a Sphinx application for the site: every module it needs is then loaded."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    with tempfile.TemporaryDirectory(prefix="kb-warm-") as scratch, patch_docutils(srcdir), docutils_namespace():
        out = Path(scratch)
        Sphinx(srcdir, srcdir, out / "html", out / "doctrees", "html", status=None, warning=io.StringIO())


def loaded_files() -> set[Path]:
    """The source files of the modules this process has loaded."""
    files = (getattr(module, "__file__", None) for module in list(sys.modules.values()))
    return {Path(file).resolve() for file in files if file}


def fork_build(argv: list[str], requests: tuple[int, int] | None = None) -> tuple[int, int]:
    """Fork a child of this process that runs ``sphinx-build argv``: its pid, and the pipe on
    which it says that the pages it read are written (:func:`kb.builder.say_written`).

    With *requests* (a pipe's two ends), the child is a standby (:mod:`kb.standby`)
    that waits on that pipe for its request once it is set up.
    """
    from sphinx.cmd import build

    from kb import standby
    from kb.builder import WRITTEN_VARIABLE

    said, say = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: build, then leave without running this process's clean-up
        status = 1
        try:
            os.close(said)
            os.environ[WRITTEN_VARIABLE] = str(say)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if requests is not None:
                os.close(requests[1])
                standby.stand_by(requests[0])
            status = build.main(argv)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    os.close(say)
    RUNNING.add(pid)
    return pid, said


def finish(pid: int, said: int, written: Callable[[], None], *, standing_by: bool = False) -> int | None:
    """Wait for the build *pid* to end, calling *written* once it says its pages are; its exit status.

    A standby (*standing_by*) first says that it takes its request: None if it
    did not (it declined, or ended before it was asked).
    """
    from kb.builder import WRITTEN
    from kb.standby import TAKEN

    try:
        with open(said, "rb", buffering=0) as pipe:
            taken = not standing_by or pipe.read(1) == TAKEN
            if taken and pipe.read(1) == WRITTEN:  # or nothing, once the build has ended
                written()
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        return status if taken else None
    finally:
        RUNNING.discard(pid)


def run_forked(argv: list[str], written: Callable[[], None]) -> int:
    """``sphinx-build argv`` in a child of this process; its exit status.

    *written* is called once the pages of the documents the build read are
    written (:func:`kb.builder.say_written`), if they are before it ends.
    """
    status = finish(*fork_build(argv), written)
    assert status is not None
    return status


@dataclass
class Standby:
    """The next build, set up before its request comes (:mod:`kb.standby`)."""

    argv: list[str]
    pid: int
    said: int
    requests: int

    @classmethod
    def set_up(cls, argv: list[str]) -> Standby:
        read_end, write_end = os.pipe()
        pid, said = fork_build(argv, (read_end, write_end))
        os.close(read_end)
        return cls(argv, pid, said, write_end)

    def run(self, changed: list[str], written: Callable[[], None]) -> int | None:
        """Build the change to *changed*; the exit status, or None if the standby cannot take it."""
        with contextlib.suppress(OSError):  # it has ended: it says nothing, and is reaped below
            os.write(self.requests, json.dumps(changed).encode() + b"\n")
        os.close(self.requests)
        return finish(self.pid, self.said, written, standing_by=True)

    def drop(self) -> None:
        """End the standby unused."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        os.close(self.requests)
        finish(self.pid, self.said, lambda: None, standing_by=True)


def run_afresh(argv: list[str]) -> int:
    """``sphinx-build argv`` in a new Python process."""
    return subprocess.run([sys.executable, "-m", "sphinx", "build", *argv], check=False).returncode


def stop(signum: int, frame: Any) -> None:
    for pid in RUNNING:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    raise SystemExit(128 + signum)


def listening(address: str) -> socket.socket:
    """A socket taking requests on *address*, waiting at most ORPHAN_CHECK_S for each."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    Path(address).unlink(missing_ok=True)
    server.bind(address)
    server.listen()
    server.settimeout(ORPHAN_CHECK_S)
    return server


def serve(address: str, srcdir: Path, parent: int) -> None:
    """Warm up, then build each request while *parent* runs; start afresh after a change to loaded code."""
    signal.signal(signal.SIGTERM, stop)
    try:
        warm_up(srcdir)
    except Exception as error:  # the builds report the site's problems; they only start cold
        print(f"kb: the preview's builds start cold: {type(error).__name__}: {error}", flush=True)
    loaded = loaded_files()
    server = listening(address)
    waiting: Standby | None = None
    while os.getppid() == parent:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            continue
        with connection, connection.makefile("rb") as lines:
            request = json.loads(lines.readline())
            stale = sorted({Path(path).resolve() for path in request["changed"]} & loaded)
            ready, waiting = waiting, None
            if ready is not None and (stale or ready.argv != request["argv"]):
                ready.drop()
                ready = None
            if stale:
                status = run_afresh(request["argv"])
            else:
                status = built(request, ready, lambda connection=connection: answer(connection, PAGES_WRITTEN))
            if status:  # said here: the one who asked may have stopped listening once the pages were written
                print(stopped(status), flush=True)
            if stale:  # no new request may wait on this socket: it goes with this process
                server.close()
                print(f"kb: {stale[0].name} changed: loading the preview's code again", flush=True)
            answer(connection, b"%d" % status)
        if stale:
            os.execv(sys.executable, [sys.executable, "-m", "kb.warm", address, str(srcdir), str(parent)])
        if request.get("standby"):
            waiting = Standby.set_up(request["standby"])


def built(request: dict[str, Any], ready: Standby | None, written: Callable[[], None]) -> int:
    """Run the build *request* asks for: by the standby *ready* for it if it can take it, else forked."""
    if ready is not None and (status := ready.run(request["changed"], written)) is not None:
        return status
    return run_forked(request["argv"], written)


def answer(connection: socket.socket, line: bytes) -> None:
    with contextlib.suppress(OSError):  # the one who asked may have gone
        connection.sendall(line + b"\n")


def stopped(status: int) -> str:
    return f"kb: the build stopped (exit status {status}); the pages it did not write are those of the build before"


def build(
    address: str,
    argv: Sequence[str],
    changed: Sequence[Path] = (),
    *,
    until_written: bool = False,
    then: Sequence[str] = (),
) -> int:
    """Have the warm process at *address* run ``sphinx-build argv``; its exit status.

    *changed* are the files whose change set off this build.  With
    *until_written*, 0 as soon as the pages of the documents it read are
    written: the build goes on, and the warm process says if it fails.
    *then*: the ``sphinx-build`` arguments of the next build, which the warm
    process sets up once this one has ended (:class:`Standby`).
    """
    request = json.dumps({"argv": list(argv), "changed": [str(path) for path in changed], "standby": list(then)})
    deadline = time.monotonic() + CONNECT_WITHIN_S
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(address)
                client.sendall(request.encode() + b"\n")
                with client.makefile("rb") as answers:
                    for line in answers:
                        if line.strip() != PAGES_WRITTEN:
                            return int(line)
                        if until_written:
                            return 0
                    return 1
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass(frozen=True)
class Rebuild:
    """What sphinx-autobuild runs after each change (in a process of its own): this build, warm."""

    address: str
    argv: tuple[str, ...]

    def __call__(self, *, changed_paths: Sequence[Path]) -> None:
        names = ", ".join(sorted({path.name for path in changed_paths})[:5])
        print(f"kb: rebuilding ({names})", flush=True)
        try:  # the browser reloads once the saved pages are written; the warm process says if the build fails
            build(self.address, self.argv, changed_paths, until_written=True, then=self.argv)
        except OSError as error:  # it has ended, or does not answer: build the slow way
            print(f"kb: the preview's warm process does not answer ({error}); building in a new process", flush=True)
            if status := run_afresh(list(self.argv)):
                print(stopped(status), flush=True)


def start(address: str, srcdir: Path, output: IO[str] | None = None) -> subprocess.Popen[bytes]:
    """Start the warm process for the site in *srcdir*, listening on *address*, writing to *output*."""
    command = [sys.executable, "-m", "kb.warm", address, str(srcdir), str(os.getpid())]
    return subprocess.Popen(command, stdout=output, stderr=output)


def main(argv: Sequence[str] | None = None) -> int:
    address, srcdir, parent = argv if argv is not None else sys.argv[1:]
    try:
        serve(address, Path(srcdir), int(parent))
    except KeyboardInterrupt:  # Ctrl+C in the terminal reaches every process of the preview
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
