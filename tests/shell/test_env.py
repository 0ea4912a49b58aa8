"""Typed settings from environment variables: defaults, parsing, loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.env import EnvError, env_bool, env_float, env_int, env_list, env_path, env_str

VAR = "STUDIO_TEST_SETTING"


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)


def test_every_helper_returns_its_default_when_the_variable_is_unset(tmp_path):
    assert env_str(VAR, "x") == "x"
    assert env_bool(VAR, True) is True
    assert env_int(VAR, 7) == 7
    assert env_float(VAR, 0.5) == 0.5
    assert env_list(VAR, ["a"]) == ["a"]
    assert env_path(VAR, tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        (" YES ", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, not expected) is expected


@pytest.mark.parametrize(
    ("helper", "raw", "message"),
    [
        (
            lambda: env_bool(VAR, False),
            "maybe",
            f"{VAR} must be a boolean (true/false), got 'maybe'",
        ),
        (lambda: env_int(VAR, 1), "ten", f"{VAR} must be an integer, got 'ten'"),
        (lambda: env_int(VAR, 1), "1.5", f"{VAR} must be an integer, got '1.5'"),
        (lambda: env_int(VAR, 5000, minimum=4096), "100", f"{VAR} must be at least 4096, got 100"),
        (lambda: env_float(VAR, 1.0), "fast", f"{VAR} must be a number, got 'fast'"),
        (lambda: env_float(VAR, 1.0, minimum=0.1), "0.01", f"{VAR} must be at least 0.1, got 0.01"),
    ],
)
def test_a_bad_value_raises_env_error_naming_the_variable(monkeypatch, helper, raw, message):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(EnvError) as caught:
        helper()
    assert str(caught.value) == message


def test_env_int_and_env_float_parse_good_values(monkeypatch):
    monkeypatch.setenv(VAR, " 4096 ")
    assert env_int(VAR, 1, minimum=4096) == 4096
    monkeypatch.setenv(VAR, "2.5")
    assert env_float(VAR, 1.0, minimum=0.0) == 2.5


def test_a_blank_number_means_the_default(monkeypatch):
    monkeypatch.setenv(VAR, "  ")
    assert env_int(VAR, 3) == 3
    assert env_float(VAR, 0.25) == 0.25


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv(VAR, " cpu, gpu ,,")
    assert env_list(VAR, ["*"]) == ["cpu", "gpu"]


def test_env_path_expands_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(VAR, "~/data")
    assert env_path(VAR, Path("/nowhere")) == (tmp_path / "data").resolve()


def test_env_str_keeps_the_value_as_given(monkeypatch):
    monkeypatch.setenv(VAR, " spaced ")
    assert env_str(VAR, "x") == " spaced "
