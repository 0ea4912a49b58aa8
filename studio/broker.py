"""kombu's filesystem transport with atomic message writes.

The stock transport creates a message file and then writes it, so a consumer
polling at that instant can take an empty file and crash on it. Here each
message is written to a staging folder and renamed into the queue folder.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

STAGING = ".staging"


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        staging = os.path.join(self.data_folder_out, STAGING)
        temporary = os.path.join(staging, name)
        try:
            os.makedirs(staging, exist_ok=True)
            with open(temporary, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to the queue folder") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES["studiofs"] = "studio.broker:Transport"
