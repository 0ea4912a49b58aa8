"""The executed notebook of a notebook step, as a page that cannot run anything.

The step renders its executed notebook to HTML (nbconvert, in its sandbox); that file is
written where the notebook's own code could write too, so it is untrusted: it is cleaned
here (nh3: no script, no event handler, no remote address but links), and the page is served
in a sandboxed frame under a policy that loads nothing but inline styles and data: images.
"""

from __future__ import annotations

import posixpath

import nh3

from runs.models import Run, StepRun
from studio.workspace import storage

MAX_HTML_BYTES = 50 * 1024 * 1024
_TAGS = set(nh3.ALLOWED_TAGS) | {"style", "div", "span", "pre", "img", "details", "summary"}
_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir", "align"},
    "img": {"src", "alt", "width", "height"},
    "a": {"href"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


def notebook_of(run: Run, step: StepRun) -> dict | None:
    """The step's notebook as the graph declares it (None for a script step), read from the
    stored graph without parsing all of it."""
    steps = (run.graph.spec or {}).get("steps") or []
    node = next((s for s in steps if s.get("node_id") == step.node_id), None)
    return (node or {}).get("notebook")


def files_of(notebook: dict) -> tuple[str, str]:
    """The executed notebook and its HTML rendering, as names among the step's files."""
    output = f"outputs/{notebook['output']}"
    return output, posixpath.splitext(output)[0] + ".html"


def rendered(step: StepRun, notebook: dict) -> str | None:
    """The cleaned HTML of the step's executed notebook; None when there is none (yet)."""
    _, html = files_of(notebook)
    path = storage.step_log_dir(step.log_step_id) / html
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_HTML_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    if len(data) > MAX_HTML_BYTES:
        return (
            "<p>The executed notebook is too large to show here "
            f"(over {MAX_HTML_BYTES // (1024 * 1024)} MB): download it.</p>"
        )
    return sanitize(data.decode("utf-8", errors="replace"))


def sanitize(html: str) -> str:
    """HTML with no script, no event handler, no frame or form, and no address but http(s)
    links and data: images."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "title"},
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "data"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
