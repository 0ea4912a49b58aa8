"""Cold load of the run page: time to the load event and bytes transferred, in a browser context
that has only signed in (empty HTTP cache), next to the sign-in page opened cold by nobody as
the reference, in the same run.

Starts its own Studio (tests/harness.py: gunicorn, a worker, the scheduler, static files
collected), runs the three-step pipeline of tests/browser/test_cold_load.py (one step logs
metrics of every kind), then opens each page ``--rounds`` times, each time in a new context of
one headless Chromium, and prints the median, min and max of the load time (the navigation's
``loadEventEnd``) and of the bytes of the response bodies as sent (compressed where they were).

    .venv/bin/python bench/cold_load.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from common import exit_on_sigterm, running

from tests.browser.fixtures import ARGS, CHROMIUM, login
from tests.browser.test_cold_load import submit_cold_run
from tests.harness import Studio

VIEWPORT = {"width": 1280, "height": 800}
LOAD_MS = "performance.getEntriesByType('navigation')[0].loadEventEnd"


def measure(browser, url: str, storage_state) -> tuple[float, int]:
    """One cold open of ``url``: milliseconds to the load event, bytes of bodies as sent."""
    context = browser.new_context(viewport=VIEWPORT, storage_state=storage_state)
    try:
        page = context.new_page()
        responses: list = []
        page.on("response", lambda response: responses.append(response))
        page.goto(url, wait_until="load")
        load_ms = page.evaluate(LOAD_MS)
        sent = sum(r.request.sizes()["responseBodySize"] for r in responses)
        return load_ms, sent
    finally:
        context.close()


def summary(name: str, samples: list[tuple[float, int]]) -> str:
    times = [t for t, _ in samples]
    sizes = [b for _, b in samples]
    return (
        f"{name}: load median {statistics.median(times):.0f} ms (min {min(times):.0f}, "
        f"max {max(times):.0f}); transferred median {statistics.median(sizes) / 1e3:.0f} kB "
        f"(min {min(sizes) / 1e3:.0f}, max {max(sizes) / 1e3:.0f}); n={len(samples)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    exit_on_sigterm()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="studio-cold-load-") as tmp:
        studio = Studio(Path(tmp) / "studio")
        with running(studio) as took:
            print(f"Studio started in {took:.1f} s; load average {os.getloadavg()[0]:.2f}")
            run = submit_cold_run(studio.workspace())
            assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
            steps = studio.api("GET", f"runs/{run.id}/").json()["steps"]
            train = next(s["id"] for s in steps if s["name"] == "train")
            pages = {
                "sign-in page, anonymous (reference)": (f"{studio.url}/login/", None),
                "run page": (f"{studio.url}/runs/{run.id}/", "auth"),
                "run page, metrics tab": (
                    f"{studio.url}/runs/{run.id}/?step={train}&tab=metrics",
                    "auth",
                ),
            }
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                try:
                    signing_in = browser.new_context(viewport=VIEWPORT)
                    login(signing_in.new_page(), studio.url)
                    auth = signing_in.storage_state()
                    signing_in.close()
                    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in pages}
                    measure(browser, pages["run page"][0], auth)  # the server's first render
                    for _ in range(args.rounds):  # interleaved: a busy moment hits each page
                        for name, (url, state) in pages.items():
                            samples[name].append(measure(browser, url, auth if state else None))
                finally:
                    browser.close()
            for name, got in samples.items():
                print(summary(name, got))
            print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
