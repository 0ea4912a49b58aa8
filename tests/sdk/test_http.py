"""The SDK's HTTP client against a real socket server on loopback."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from studio.sdk._http import Client
from studio.sdk.exceptions import ServiceException

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
    b'Connection: close\r\n\r\n{"ok": true}'
)


class _ResettingServer:
    """Resets the first ``resets`` connections after reading the request, then answers."""

    def __init__(self, resets: int):
        self.resets = resets
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.requests += 1
                if self.requests <= self.resets:
                    # SO_LINGER 0: close with a RST, as a server closing an idle kept-alive
                    # connection does to a request that crosses it.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    continue
                conn.sendall(ANSWER)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server(request):
    made = _ResettingServer(request.param)
    yield made
    made.close()


@pytest.mark.parametrize("server", [1], indirect=True)
def test_a_read_reset_by_the_server_is_tried_again(server):
    assert Client(server.url, "t").get("workspace/") == {"ok": True}
    assert server.requests == 2


@pytest.mark.parametrize("server", [10], indirect=True)
def test_a_server_that_keeps_resetting_is_reported_not_retried_forever(server):
    with pytest.raises(ServiceException, match="Could not reach Studio"):
        Client(server.url, "t").get("workspace/")
    assert server.requests == 4  # the first try and three more


@pytest.mark.parametrize("server", [1], indirect=True)
def test_a_post_is_not_sent_twice(server):
    with pytest.raises(ServiceException):
        Client(server.url, "t").post("runs/", {"x": 1})
    assert server.requests == 1
