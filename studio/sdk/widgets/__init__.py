"""``studio.sdk.widgets`` (``azureml.widgets``): ``RunDetails(run).show()``.

In Jupyter it shows a table of the run's steps that updates itself until the run ends (the
cell returns at once, as azureml's widget does); in a terminal it prints a line each time a
step changes status, until the run ends.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from datetime import datetime

from studio.core.status import TERMINAL

POLL_SECONDS = 2.0


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # no IPython, or an unusual shell: a terminal then
        return False


class RunDetails:
    def __init__(self, run_instance):
        self.run_instance = run_instance
        self._thread: threading.Thread | None = None

    def _snapshot(self) -> tuple[dict, list[dict]]:
        """(the run's data, its steps' data): a step run is shown as a run of one step."""
        run = self.run_instance
        data = run._refresh()
        steps = data.get("steps")
        if steps is None:  # a StepRun
            steps = [data]
        return data, steps

    def show(self) -> None:
        if _in_notebook():
            self._show_in_notebook()
        else:
            self._show_in_terminal()

    # --- terminal ----------------------------------------------------------------------

    def _show_in_terminal(self) -> None:
        seen: dict[str, str] = {}
        data, steps = self._snapshot()
        print(f"Run {self.run_instance.id}: {data.get('url', '')}".rstrip(": "), flush=True)
        while True:
            for step in steps:
                if seen.get(step["id"]) != step["status"]:
                    seen[step["id"]] = step["status"]
                    print(
                        f"[{datetime.now():%H:%M:%S}] {step['name']}: {step['status']}"
                        + (" (reused)" if step.get("reuse", {}).get("reused") else ""),
                        flush=True,
                    )
            if data["status"] in TERMINAL:
                done = sum(1 for s in steps if s["status"] == "Completed")
                print(f"Run {data['status']}: {done} of {len(steps)} steps completed", flush=True)
                return
            time.sleep(POLL_SECONDS)
            data, steps = self._snapshot()

    # --- notebook ----------------------------------------------------------------------

    def _html(self, data: dict, steps: list[dict]) -> str:
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                html.escape(s["name"]),
                html.escape(s["status"]),
                "Yes" if s.get("reuse", {}).get("reused") else "No",
                html.escape(str(s.get("started_at") or "")),
            )
            for s in steps
        )
        link = html.escape(data.get("url", ""))
        return (
            f'<div><p>Run <a href="{link}" target="_blank">{html.escape(self.run_instance.id)}</a>: '
            f"<b>{html.escape(data['status'])}</b></p>"
            "<table><thead><tr><th>Step</th><th>Status</th><th>Reused</th><th>Started</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>"
        )

    def _show_in_notebook(self) -> None:
        from IPython.display import HTML, display

        data, steps = self._snapshot()
        handle = display(HTML(self._html(data, steps)), display_id=True)

        def follow() -> None:
            current = data
            while current["status"] not in TERMINAL:
                time.sleep(POLL_SECONDS)
                try:
                    current, current_steps = self._snapshot()
                except Exception:  # the server went away: keep the last view
                    return
                handle.update(HTML(self._html(current, current_steps)))

        self._thread = threading.Thread(target=follow, name="run-details", daemon=True)
        self._thread.start()


__all__ = ["RunDetails"]
