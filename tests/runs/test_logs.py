"""The capped step log: head and tail kept, the middle replaced by a marker."""

from __future__ import annotations

import re
import resource

from runs.logs import CappedLogWriter

MARKER = re.compile(rb"\n\[\.\.\. log truncated: (\d+) bytes omitted \.\.\.\]\n")


def _lines(count: int) -> list[bytes]:
    return [b"line %05d\n" % i for i in range(count)]


def test_it_keeps_the_head_and_the_tail_with_a_marker_counting_what_was_omitted(tmp_path):
    path = tmp_path / "std_log.txt"
    writer = CappedLogWriter(path, cap=200)
    lines = _lines(500)
    for line in lines:
        writer.write(line)
    size = writer.close()

    data = path.read_bytes()
    assert size == len(data)
    head, omitted, tail = MARKER.split(data)
    everything = b"".join(lines)
    assert head == everything[:100]
    assert everything.endswith(tail)
    assert 50 <= len(tail) <= 100
    assert int(omitted) == len(everything) - len(head) - len(tail)
    assert tail.endswith(b"line 00499\n")


def test_it_loses_nothing_below_half_the_cap(tmp_path):
    path = tmp_path / "std_log.txt"
    writer = CappedLogWriter(path, cap=1000)
    writer.write(b"hello\n")
    writer.write(b"world\n")
    assert writer.close() == 12
    assert path.read_bytes() == b"hello\nworld\n"


def test_it_loses_nothing_below_the_cap(tmp_path):
    path = tmp_path / "std_log.txt"
    writer = CappedLogWriter(path, cap=1000)
    lines = _lines(80)  # 800 bytes: more than the head, less than the cap
    for line in lines:
        writer.write(line)
    writer.close()
    assert path.read_bytes() == b"".join(lines)


def test_it_caps_one_write_much_larger_than_the_cap(tmp_path):
    path = tmp_path / "std_log.txt"
    writer = CappedLogWriter(path, cap=100)
    data = bytes(range(65, 91)) * 10  # 260 bytes in a single write
    writer.write(data)
    writer.close()
    head, omitted, tail = MARKER.split(path.read_bytes())
    assert head == data[:50]
    assert data.endswith(tail) and 25 <= len(tail) <= 50
    assert int(omitted) == len(data) - len(head) - len(tail)


def test_it_leaves_no_segment_files_behind(tmp_path):
    path = tmp_path / "std_log.txt"
    writer = CappedLogWriter(path, cap=100)
    for line in _lines(100):
        writer.write(line)
    writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["std_log.txt"]


def test_it_creates_the_log_folder(tmp_path):
    path = tmp_path / "ExperimentRun" / "dcid.x" / "user_logs" / "std_log.txt"
    writer = CappedLogWriter(path, cap=100)
    writer.write(b"ok\n")
    writer.close()
    assert path.read_bytes() == b"ok\n"


def test_its_memory_stays_flat_however_much_is_written(tmp_path):
    path = tmp_path / "std_log.txt"
    writer = CappedLogWriter(path, cap=1024 * 1024)
    chunk = b"x" * 65535 + b"\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(1600):  # 100 MiB
        writer.write(chunk)
    size = writer.close()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert size < 1024 * 1024 + 100
    assert path.stat().st_size == size
    assert grown_kib < 20 * 1024
    head, omitted, tail = MARKER.split(path.read_bytes())
    assert int(omitted) == 1600 * len(chunk) - len(head) - len(tail)


def test_the_exception_a_traceback_ended_with_is_its_summary():
    from runs.logs import exception_line

    log = (
        "loading\n"
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in <module>\n'
        "    import b\n"
        "KeyError: 'x'\n"
        "\nDuring handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "train.py", line 9, in <module>\n'
        '    load("data/train.csv")\n'
        "ValueError: cannot parse data/train.csv\n"
        "more text\n"
    )
    assert exception_line(log) == "ValueError: cannot parse data/train.csv"
    assert exception_line("no traceback here\nexit 3\n") is None
    assert exception_line("Traceback (most recent call last):\n  File x\n") is None
