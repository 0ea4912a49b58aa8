"""Typed readers for settings that come from environment variables.

Each helper fails loudly on a value it cannot parse, naming the variable, so a
typo in the environment stops the process at start instead of misbehaving later.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ValueError):
    pass


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EnvError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EnvError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EnvError(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default.resolve()


# Production: the proxy's HTTPS header, and which hosts only this machine can reach.


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """A header a TLS proxy sets on HTTPS requests, as ``Header`` or ``Header=value``.

    ``X-Forwarded-Proto`` means ``X-Forwarded-Proto: https``; the answer is the pair Django's
    SECURE_PROXY_SSL_HEADER takes (``("HTTP_X_FORWARDED_PROTO", "https")``), None when unset.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, _, value = raw.partition("=")
    header, value = header.strip(), value.strip() or "https"
    if not re.fullmatch(r"[A-Za-z0-9-]+", header):
        raise EnvError(
            f"{name} must be a header name, optionally with =value "
            f"(e.g. X-Forwarded-Proto), got {raw!r}"
        )
    return "HTTP_" + header.upper().replace("-", "_"), value


def is_loopback_host(host: str) -> bool:
    """Whether an ALLOWED_HOSTS entry names only this machine: localhost (and its subdomains,
    RFC 6761) or a loopback address; ``*``, ``0.0.0.0`` and real names are public."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in ("localhost", ".localhost") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
