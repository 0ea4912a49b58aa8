"""The SDK's HTTP client: JSON over the documented REST API, errors as exceptions."""

from __future__ import annotations

from typing import Any

from studio.sdk.exceptions import AuthenticationException, ServiceException, UserErrorException


class Client:
    def __init__(self, url: str, token: str, timeout: float = 60.0):
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        # A kept-alive connection the server closes as a request goes out (its idle timeout
        # and a poll every few seconds meet) resets that request: reads are tried again.
        retry = Retry(
            total=3,
            connect=3,
            read=3,
            status=0,
            backoff_factor=0.1,
            allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
            raise_on_status=False,
        )
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, HTTPAdapter(max_retries=retry))
        # Snapshot digests the server has confirmed holding. Snapshots are content-addressed,
        # so a confirmed digest is not asked about again (azureml caches snapshots likewise).
        self.known_snapshots: set[str] = set()

    def request(self, method: str, path: str, **kwargs) -> Any:
        import requests

        kwargs.setdefault("timeout", self.timeout)
        url = path if path.startswith("http") else f"{self.url}/api/{path.lstrip('/')}"
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ServiceException(f"Could not reach Studio at {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise _error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, url_path: str, /, **params) -> Any:
        return self.request("GET", url_path, params=params or None)

    def post(self, url_path: str, body: Any = None, /) -> Any:
        return self.request("POST", url_path, json=body)


def _error(response) -> Exception:
    try:
        body = response.json()["error"]
        message, field = body.get("message", ""), body.get("field")
    except (ValueError, KeyError, TypeError):
        message, field = response.text[:500], None
    code = response.status_code
    if code in (401, 403):
        return AuthenticationException(message or "Not authorized.", field, code)
    if code < 500:
        return UserErrorException(message or f"Request refused ({code}).", field, code)
    return ServiceException(f"Studio answered {code}: {message}")
