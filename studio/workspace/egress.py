"""Which addresses datastore clients may connect to, judged as each connection is made.

The endpoint of an S3 or Azure Blob datastore and the URL of a web dataset are chosen by
users, and Studio's processes reach what its users cannot: services on loopback, the cloud's
metadata service at 169.254.169.254, the private network. Addresses that are not public
(loopback, link-local, private, unspecified, multicast, reserved, shared 100.64/10, and
IPv6 forms that embed one of these) are refused unless ``STUDIO_DATASTORE_ALLOWED_HOSTS``
lists them.

Why at connection time. A look at the URL is not enough: a name may resolve to a refused
address, or resolve to another one when it is used than when it was checked (DNS rebinding),
and a server may redirect elsewhere (azure-core and aiohttp follow redirects, botocore
follows S3's region redirects). So the address is judged when a socket connects to it, by an
audit hook on ``socket.connect`` (:func:`sys.addaudithook`): the event carries the address
actually connected to, after DNS and after every redirect, whatever the library, IP
literals included (aiohttp skips its resolver for those, so a filtering resolver alone would
miss them).

How it is scoped to datastore clients. s3fs, adlfs and fsspec's HTTP filesystem are async
(aiobotocore, azure's aio clients and aiohttp) and make every connection on the event loop
they are given. Studio gives them a loop of its own, on a thread of its own
(:func:`io_loop`), and the hook judges only connections made on that thread; the database,
the broker and everything else the process connects to are left alone. Context variables
would not do: they do not follow a call onto that thread. An aiohttp connector with a socket
factory would, for aiobotocore and fsspec, but adlfs offers no way to give its Azure clients
a transport.

Before a client is built, :func:`check_url` resolves the host of a URL the user gave and
refuses it at once, naming the field: a clear answer, without waiting out botocore's retries
of a refused connection. The connection-time check remains the guarantee.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import re
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from studio.core.errors import StudioError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "STUDIO_DATASTORE_ALLOWED_HOSTS"

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$"
)


class AddressRefused(StudioError):
    """A datastore client was about to connect to an address that is not public."""

    AT_CONNECTION = "connection"  # the field when judged at connection time, where it is unknown

    def __init__(self, field: str, message: str):
        super().__init__(field, message, 409)


# --- the rule --------------------------------------------------------------------------------


def refusal(ip: IPAddress) -> str:
    """Why a datastore may not connect to ``ip`` ("a loopback address"), or "" when it may."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        reason = refusal(embedded)
        return f"the IPv6 form of {embedded}, {reason}" if reason else ""
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.version == 4 and ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return ""


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped, 6to4 or NAT64."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class AllowRule:
    """One entry of STUDIO_DATASTORE_ALLOWED_HOSTS: a network or a host name, and maybe a port."""

    network: IPNetwork | None = None
    host: str = ""
    port: int | None = None

    def admits(self, ip: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            embedded = _embedded_ipv4(ip)
            return ip in self.network or (embedded is not None and embedded in self.network)
        return ip in _resolve(self.host)


def parse_allowed_hosts(entries: Iterable[str]) -> tuple[AllowRule, ...]:
    """Rules from entries such as ``minio.internal``, ``minio.internal:9000``, ``10.0.0.5``,
    ``[fd00::5]:9000``, ``10.0.0.0/8``; ValueError naming the entry that is not one."""
    return tuple(_parse_rule(entry.strip()) for entry in entries if entry.strip())


def _parse_rule(entry: str) -> AllowRule:
    problem = ValueError(
        f"{SETTING}: {entry!r} is not a host name, an IP address or a CIDR network, "
        "optionally followed by :port"
    )
    host, port = entry, None
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
    if bracketed:
        host, port = bracketed[1], bracketed[2]
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    port_number = None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise problem
        port_number = int(port)
    try:
        if "/" in host:
            return AllowRule(network=ipaddress.ip_network(host), port=port_number)
        ip = ipaddress.ip_address(host)
        return AllowRule(network=ipaddress.ip_network(ip), port=port_number)
    except ValueError:
        if "/" in host or ":" in host:
            raise problem from None
    name = host.lower().rstrip(".")
    if not _HOST_NAME.match(name):
        raise problem
    return AllowRule(host=name, port=port_number)


@functools.lru_cache(maxsize=8)
def _rules(entries: tuple[str, ...]) -> tuple[AllowRule, ...]:
    return parse_allowed_hosts(entries)


def allowed(ip: IPAddress, port: int) -> bool:
    """True when STUDIO_DATASTORE_ALLOWED_HOSTS lets datastores connect to ``ip``:``port``."""
    entries = tuple(getattr(settings, SETTING, ()))
    return any(rule.admits(ip, port) for rule in _rules(entries))


def _resolve(host: str, port: int | None = None) -> set[IPAddress]:
    """The addresses a name has now (none if it does not resolve)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()
    return {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found}


def _judge(ip: IPAddress, port: int, field: str, what: str) -> None:
    reason = refusal(ip)
    if reason and not allowed(ip, port):
        raise AddressRefused(
            field,
            f"{what}: {ip} is {reason}. Datastores and web datasets may not reach loopback, "
            f"link-local, private or reserved addresses unless {SETTING} lists them.",
        )


def check_url(url: str, field: str) -> None:
    """Refuse a URL whose host resolves to an address datastores may not connect to
    (AddressRefused naming ``field``). A name that does not resolve now passes: the
    connection, if any, is judged when it is made."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise StudioError(field, f"{url!r} has a port that is not a number.") from None
    if not host:
        raise StudioError(field, f"{url!r} names no host.")
    addresses = {ipaddress.ip_address(host)} if _is_literal(host) else _resolve(host, port)
    for ip in sorted(addresses, key=str):
        what = url if len(addresses) == 1 and _is_literal(host) else f"{url} ({host} is {ip})"
        _judge(ip, port, field, what)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- the guard at connection time ------------------------------------------------------------


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect" or threading.get_ident() != _guarded_thread:
        return
    sock, address = args
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        raise AddressRefused(
            AddressRefused.AT_CONNECTION, f"Datastores connect over TCP/IP only, not to {address!r}"
        )
    host, port = str(address[0]), int(address[1])
    # A socket connected by name (not what asyncio does) is judged by every address it has.
    addresses = {ipaddress.ip_address(host)} if _is_literal(host) else _resolve(host, port)
    if not addresses:
        raise AddressRefused(
            AddressRefused.AT_CONNECTION, f"Connection to {host} refused: it does not resolve."
        )
    for ip in addresses:
        _judge(ip, port, AddressRefused.AT_CONNECTION, f"Connection to {host} port {port} refused")


_guarded_thread: int | None = None
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None
_loop_lock = threading.Lock()
_hook_installed = False


def io_loop() -> asyncio.AbstractEventLoop:
    """The event loop every datastore client runs on (one per process, on its own thread),
    where each connection is judged by the audit hook."""
    global _loop, _guarded_thread, _hook_installed
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():
            if not _hook_installed:
                sys.addaudithook(_audit)
                _hook_installed = True
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="studio-datastore-io", daemon=True
            )
            thread.start()
            _guarded_thread = thread.ident
            _loop = (os.getpid(), loop)
        return _loop[1]


def _forget_loop() -> None:
    """In a forked child the loop's thread does not exist: the next use starts another."""
    global _loop, _loop_lock, _guarded_thread
    _loop, _guarded_thread, _loop_lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_loop)


# --- telling the user -------------------------------------------------------------------------


def refused_in(exc: BaseException) -> AddressRefused | None:
    """The refusal behind an error, however the client libraries wrapped it."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AddressRefused):
            return current
        pending += [current.__cause__, current.__context__, getattr(current, "os_error", None)]
    return None


def raise_refusal(exc: BaseException) -> None:
    """Raise the refusal behind ``exc`` if there is one (clients report some refused
    connections as a missing file)."""
    refused = refused_in(exc)
    if refused is not None:
        raise AddressRefused(refused.field, refused.message)


@contextmanager
def refusals_named(field: str, name: str) -> Iterator[None]:
    """Turn an error caused by a refused connection into an AddressRefused naming ``field``
    and the datastore, whatever the client library wrapped it in."""
    try:
        yield
    except AddressRefused as exc:
        if exc.field == AddressRefused.AT_CONNECTION:
            raise AddressRefused(field, f"Datastore {name}: {exc.message}") from None
        raise
    except Exception as exc:
        refused = refused_in(exc)
        if refused is None:
            raise
        raise AddressRefused(field, f"Datastore {name}: {refused.message}") from None
