"""Workarounds for Starlette, the web server of the preview (``make serve``, :mod:`kb.preview`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from kb.upstream import require

if TYPE_CHECKING:
    from starlette.types import Scope

#: The releases this workaround was written for (and tested with).
STARLETTE = "starlette>=1.10,<1.11"
#: The most a page asked for while being written is waited for (it is empty until written).
WHOLE_WITHIN_S = 1.0
#: How often an empty page is read again.
POLL_S = 0.05


def files_served_whole() -> type[StaticFiles]:
    """Starlette's static files, each sent as it was read in one piece.

    Starlette sends a file from the disk in parts, with the length it had when
    it was looked up.  Sphinx writes a page in place (it empties the file, then
    writes it), so a page the preview's build was writing was sent cut short
    or empty, or the server failed with a traceback in the preview's output
    ("Too much data for declared Content-Length": 2 of 6 preview runs at 2,000
    posts, PERFORMANCE.md).  :class:`WholeFiles` reads each file whole first,
    and a page read empty again until it has content.  None open: Starlette
    assumes static files do not change (tornado's issue 2769 is the same).
    Without the workaround (its target moved), Starlette's own files are
    served.
    """
    if require(StaticFiles, "get_response", versions=STARLETTE, parameters=("self", "path", "scope")) is None:
        return StaticFiles
    return WholeFiles


class WholeFiles(StaticFiles):
    """Starlette's static files, each sent as read in one piece (:func:`files_served_whole`)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if not isinstance(response, FileResponse):  # not modified, a redirect
            return response
        try:
            content = await anyio.to_thread.run_sync(whole, Path(response.path))
        except OSError:  # removed since it was looked up
            raise HTTPException(status_code=404) from None
        headers = {name: value for name, value in response.headers.items() if name != "content-length"}
        return Response(content, status_code=response.status_code, headers=headers)


def whole(path: Path) -> bytes:
    """The content of *path*, read in one piece; a page read empty is read again until it has content.

    A page is never empty once written, so an empty one is being written.
    """
    deadline = time.monotonic() + WHOLE_WITHIN_S
    while not (content := path.read_bytes()) and path.suffix == ".html" and time.monotonic() < deadline:
        time.sleep(POLL_S)
    return content
