"""kombu's filesystem transport with atomic message writes.

The stock transport creates a message file and then writes it, so a consumer
polling at that instant can take an empty file and crash on it. Here each
message is written to a staging folder and renamed into the queue folder.

A queue folder that was removed is made again; one that cannot be read (not a
folder, no permission) leaves the worker polling, with a log line, until it can
be: the worker must not die of it. Senders see a refusal, and the studio keeps
the message owed (``runs.services.ring_doorbell``).
"""

from __future__ import annotations

import logging
import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

STAGING = ".staging"
log = logging.getLogger("studio.broker")


class Channel(filesystem.Channel):
    _unreadable = False

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
            raise ChannelError(
                f"Cannot add a message to the queue folder {self.data_folder_out}: {exc}"
            ) from exc

    def _get(self, queue: str) -> Any:
        try:
            message = super()._get(queue)
        except FileNotFoundError:  # the folder was removed: it is made again
            os.makedirs(self.data_folder_in, exist_ok=True)
            raise Empty() from None
        except (NotADirectoryError, PermissionError) as exc:
            if not self._unreadable:
                log.warning("cannot read the queue folder %s: %s", self.data_folder_in, exc)
                self._unreadable = True
            raise Empty() from None
        except Empty:
            self._unreadable = False
            raise
        self._unreadable = False
        return message


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES["studiofs"] = "studio.broker:Transport"
