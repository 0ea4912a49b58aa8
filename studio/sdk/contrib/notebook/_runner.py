"""Run one notebook step: ``python -m studio.sdk.contrib.notebook._runner <job JSON>``.

Started by the worker in the step's sandbox, on the step's own Python, with the notebook
runtime (papermill, ipykernel, nbconvert) on its path. Executes the notebook with its
parameters injected (papermill), keeps the executed notebook (also when a cell fails) and an
HTML rendering of it, and ends with the failing cell's exception, as a script's traceback
would. Imports nothing of Studio's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import traceback

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# The kernel: this same Python, the notebook runtime after its own packages.
KERNEL_BOOT = (
    "import sys; sys.path.append({runtime!r}); "
    "from ipykernel import kernelapp; kernelapp.launch_new_instance()"
)


def _install_kernel(job: dict) -> None:
    """A kernel spec named as the step asks, that starts this interpreter: the notebook's code
    sees the step's environment first and the runtime only for what that lacks."""
    runtime = job["runtime"]
    home = tempfile.mkdtemp(prefix="studio-jupyter-")
    folder = os.path.join(home, "kernels", job["kernel"])
    os.makedirs(folder)
    spec = {
        "argv": [
            sys.executable,
            "-c",
            KERNEL_BOOT.format(runtime=runtime),
            "-f",
            "{connection_file}",
        ],
        "display_name": "Python 3 (the step's)",
        "language": "python",
    }
    with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as fh:
        json.dump(spec, fh)
    os.environ["JUPYTER_PATH"] = os.pathsep.join([home, os.path.join(runtime, "share", "jupyter")])


def run(job: dict) -> int:
    sys.path.append(job["runtime"])
    _install_kernel(job)
    import papermill
    from papermill.exceptions import PapermillExecutionError

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    output = job["output"]
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    try:
        papermill.execute_notebook(
            job["notebook"],
            output,
            parameters=job["parameters"],
            kernel_name=job["kernel"],
            language="python",  # the kernel is the step's Python, whatever the notebook says
            progress_bar=job["progress_bar"],
            log_output=job["log_output"],
            execution_timeout=job["timeout"],
            cwd=job["cwd"],
        )
    except PapermillExecutionError as exc:  # a cell raised: its traceback, then its exception
        _kept(output, job)
        sys.stdout.flush()
        for line in exc.traceback:
            print(ANSI.sub("", line), file=sys.stderr)
        where = f"Cell In[{exc.exec_count}] of {job['notebook']} (cell {exc.cell_index + 1})"
        _ending(where, exc.ename, exc.evalue)
        return 1
    except Exception as exc:  # a cell timed out, the kernel died, the notebook is unreadable...
        _kept(output, job)
        sys.stdout.flush()
        traceback.print_exc()
        _ending(f"running {job['notebook']}", type(exc).__name__, str(exc))
        return 1
    _kept(output, job)
    return 0


def _ending(where: str, name: str, value: str) -> None:
    """The exception as the last lines of a script's traceback, which the step's error names."""
    print("Traceback (most recent call last):", file=sys.stderr)
    print(f"  {where}", file=sys.stderr)
    print(f"{name}: {value.strip().splitlines()[0] if value.strip() else ''}", file=sys.stderr)


def _kept(output: str, job: dict) -> None:
    if os.path.isfile(output):
        _keep(output, job)


def _keep(output: str, job: dict) -> None:
    """The executed notebook as HTML beside it, and a copy in the output it is passed on by."""
    try:
        from nbconvert import HTMLExporter

        # The lab template's styles inline; its scripts (and their CDN addresses) are removed
        # by the server, which serves the page sanitized.
        html, _ = HTMLExporter(template_name="lab").from_filename(output)
        with open(job["html"], "w", encoding="utf-8") as fh:
            fh.write(html)
    except Exception as exc:  # the notebook ran: a rendering that fails does not fail the step
        print(f"Could not render the executed notebook as HTML: {exc}", file=sys.stderr)
    if job.get("output_copy"):
        os.makedirs(os.path.dirname(job["output_copy"]), exist_ok=True)
        shutil.copyfile(output, job["output_copy"])


if __name__ == "__main__":
    sys.exit(run(json.loads(sys.argv[1])))
