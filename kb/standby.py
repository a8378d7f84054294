"""A preview build set up before the save it builds.

After a save, most of a preview build's wait came before it read the saved
post: the configuration read, the extensions set up, the content loaded and
checked, Sphinx's environment loaded from its pickle (PERFORMANCE.md, *The
preview*).  None of that needs the save.  So once a build has ended, the
preview's warm process (:mod:`kb.warm`) forks the next one at once, a
*standby*: a ``sphinx-build`` run like any other, which sets up its
application and then, at the start of ``builder-inited``, waits for the save.

When the request comes (the files changed), :func:`on_builder_inited` loads
the content again, taking over every post and page that has not changed since
(:func:`kb.content.reload`: about a tenth of a second at 2,000 posts), and lets
the build go on: the other ``builder-inited`` handlers (today's date, the
pages' history, the series' books) run after it, as in any build.  What the
standby says while it is set up is held back, and told once it is asked; the
content's problems are told then, as the reload finds them.

A standby cannot take a change to what it has read apart from the content:
``conf.py``, a template, Python code, or content that changes a setting
(:func:`kb.content.from_content`: an author added, a post made a draft, or
invalid).  It then ends with :data:`DECLINED` before it builds anything, and
the warm process runs the build the usual way.  A standby whose warm process
has gone ends with it.

Between reading the saved post and writing its page, Sphinx pickles its
environment for the next build (a quarter of a second at 2,000 posts); in a
standby's build a forked copy writes it while the pages are written
(:func:`kb.upstream.sphinx.environment_pickled_aside`, which asks
:func:`asked`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb import __version__, content, problems
from kb.builder import WRITTEN_VARIABLE

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config

#: The exit status of a standby that cannot take the change asked of it.
DECLINED = 75
#: What a standby writes to the build's pipe (:data:`kb.builder.WRITTEN_VARIABLE`) once it takes a request.
TAKEN = b"t"


@dataclass(frozen=True)
class Waiting:
    """How a standby hears of its request, and where its output goes until then and after."""

    #: The pipe the request comes on: one line of JSON, the files changed.
    requests: int
    #: Copies of the build's standard output and error, which it writes to once it has the request.
    output: tuple[int, int]
    #: What it wrote to each until then, held back (in files without a name).
    held: tuple[int, int]


#: Set in a standby only, before it runs ``sphinx-build`` (:func:`stand_by`).
WAITING: Waiting | None = None
#: The build a standby runs once it has taken its request (:func:`asked`).
ASKED: list[Sphinx] = []


def stand_by(requests: int) -> None:
    """Make this process a standby: hold its output back, wait for a request on *requests*."""
    global WAITING
    sys.stdout.flush()
    sys.stderr.flush()
    output = (os.dup(1), os.dup(2))
    held = []
    for target in (1, 2):
        with tempfile.TemporaryFile() as file:
            held.append(os.dup(file.fileno()))
        os.dup2(held[-1], target)
    WAITING = Waiting(requests, output, (held[0], held[1]))


def asked(app: Sphinx) -> bool:
    """Whether *app* is the build of a standby that has taken its request."""
    return app in ASKED


def request(waiting: Waiting) -> list[Path] | None:
    """The files changed, once the request comes; None if the warm process has gone."""
    with open(waiting.requests, "rb") as pipe:  # noqa: PTH123 - a pipe, not a path
        line = pipe.readline()
    return [Path(path) for path in json.loads(line)] if line else None


def speak(waiting: Waiting) -> None:
    """Give the build its output back, after what it said while it was set up."""
    sys.stdout.flush()
    sys.stderr.flush()
    for target, copy, held in zip((1, 2), waiting.output, waiting.held, strict=True):
        os.dup2(copy, target)
        os.close(copy)
        os.lseek(held, 0, os.SEEK_SET)
        with open(held, "rb") as said, open(target, "wb", closefd=False) as out:  # noqa: PTH123 - descriptors
            shutil.copyfileobj(said, out)


def outside_content(app: Sphinx, changed: list[Path]) -> Path | None:
    """The first of *changed* that a standby has read apart from the content: code, ``conf.py``, templates."""
    templates = [Path(app.confdir, folder).resolve() for folder in app.config.templates_path]
    for path in changed:
        if path.suffix == ".py" or any(path.resolve().is_relative_to(folder) for folder in templates):
            return path
    return None


def on_builder_inited(app: Sphinx) -> None:
    """In a standby: wait for the request, then load the content again and build; or decline."""
    global WAITING
    waiting, WAITING = WAITING, None
    if waiting is None:
        return
    changed = request(waiting)
    if changed is None:
        os._exit(0)
    speak(waiting)
    if (code := outside_content(app, changed)) is not None:
        print(f"kb: {code.name} changed: setting the build up afresh", flush=True)
        os._exit(DECLINED)
    problems.hold(app, until_asked=False)
    if not content.reload(app):
        print("kb: the content changes a setting: setting the build up afresh", flush=True)
        os._exit(DECLINED)
    if descriptor := os.environ.get(WRITTEN_VARIABLE, ""):
        with contextlib.suppress(OSError):  # the warm process has gone: the build goes on all the same
            os.write(int(descriptor), TAKEN)
    ASKED.append(app)


def on_config_inited(app: Sphinx, config: Config) -> None:
    """In a standby, before the content is loaded: its problems are reported once it is asked."""
    if WAITING is not None:
        problems.hold(app, until_asked=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", on_config_inited, priority=0)  # before kb.content loads the content
    app.connect("builder-inited", on_builder_inited, priority=0)  # before every handler that reads the content
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
