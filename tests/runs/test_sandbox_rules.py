"""Who may run steps without a sandbox, and what the sandbox gives a step to see."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from runs import sandbox


def test_a_worker_refuses_to_run_steps_unsandboxed_unless_submitters_are_trusted(
    settings, monkeypatch, tmp_path
):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    settings.STUDIO_TRUST_SUBMITTERS = False
    with pytest.raises(
        CommandError, match=r"bubblewrap is not installed.*STUDIO_TRUST_SUBMITTERS=1"
    ):
        call_command("worker")
    settings.STUDIO_SANDBOX = "off"
    with pytest.raises(CommandError, match="STUDIO_SANDBOX=off"):
        call_command("worker")


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_the_sandbox_shows_what_it_was_given_and_hides_the_rest(tmp_path):
    readable, writable, hidden = tmp_path / "in", tmp_path / "work", tmp_path / "secret"
    for folder in (readable, writable, hidden):
        folder.mkdir()
    (readable / "data.txt").write_text("input")
    (hidden / "key").write_text("secret")
    box = sandbox.Sandbox(cwd=writable)
    box.read(readable, "/usr/bin")
    box.write(writable)
    script = (
        "import os\n"
        "print(open('in/data.txt'.replace('in/', os.environ['IN'] + '/')).read())\n"
        "open('out.txt', 'w').write('written')\n"
        "for probe in (os.environ['SECRET'], os.environ['IN'] + '/new'):\n"
        "    try:\n"
        "        open(probe, 'w' if probe.endswith('new') else 'r')\n"
        "        print('reached', probe)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    done = subprocess.run(
        box.wrap(["/usr/bin/python3", "-c", script], shutil.which("bwrap")),
        capture_output=True,
        text=True,
        env={"IN": str(readable), "SECRET": str(hidden / "key"), "PATH": "/usr/bin"},
    )
    # the input read; the hidden file absent; the input folder read-only
    assert done.stdout.split() == ["input", "FileNotFoundError", "OSError"], done.stderr
    assert "reached" not in done.stdout
    assert Path(writable / "out.txt").read_text() == "written"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_process_a_step_detaches_ends_with_the_step(tmp_path):
    box = sandbox.Sandbox(cwd=tmp_path)
    box.write(tmp_path)
    script = (
        "import subprocess\n"
        "subprocess.Popen(['/bin/sh', '-c', 'sleep 1; touch escaped'], start_new_session=True)\n"
    )
    done = subprocess.run(
        box.wrap(["/usr/bin/python3", "-c", script], shutil.which("bwrap")), capture_output=True
    )
    assert done.returncode == 0, done.stderr
    time.sleep(2)
    assert not (tmp_path / "escaped").exists()


def test_files_inside_a_readable_folder_add_no_arguments_of_their_own(tmp_path):
    folder, elsewhere = tmp_path / "dataset", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    files = []
    for i in range(20_000):  # a bind each would pass the command line's limit
        files.append(folder / f"f{i:05d}.txt")
        files[-1].write_text(str(i))
    (folder / "link").symlink_to(elsewhere)
    (elsewhere / "target.txt").write_text("t")
    box = sandbox.Sandbox(cwd=tmp_path)
    box.read(*files, folder, folder / "link" / "target.txt")
    argv = box.wrap(["true"], "/usr/bin/bwrap")
    binds = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--ro-bind"]
    # the folder once; a file reached through a symlink in it keeps its own bind
    assert str(folder) in binds
    assert str(folder / "link" / "target.txt") in binds
    assert not any(b.startswith(f"{folder}/f") for b in binds)
