"""The file outbox: one RFC 5322 ``.eml`` file per message.

The default transport of the embedded set-up.  File names come from the
ledger key, so a resend after a crash rewrites the same file: idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distributor.config import FileMailConfig, Settings
from distributor.errors import TransientProviderError
from distributor.mail.base import CheckResult, MailBackend
from distributor.models import DeliveryResult, Message


class FileMailBackend(MailBackend):
    provider = "file"
    needs_parts = False  # sends Message.raw
    idempotent = True
    smtputf8 = True  # a file holds UTF-8 headers as well as any
    batch_size = 500

    def __init__(self, name: str, config: Any, settings: Settings) -> None:
        super().__init__(name, config, settings)
        assert isinstance(config, FileMailConfig)
        self.directory = settings.data_path(config.directory)

    def path_for(self, key: str) -> Path:
        return self.directory.joinpath(*key.split("/")).with_suffix(".eml")

    def check(self) -> CheckResult:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / ".distributor-check"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            return CheckResult(False, f"cannot write to {self.directory}: {err}")
        return CheckResult(True, f"writes to {self.directory}")

    def send_batch(self, messages: Sequence[Message]) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        for message in messages:
            path = self.path_for(message.key)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_bytes(message.raw)
                os.replace(tmp, path)
            except OSError as err:
                if not results:
                    raise TransientProviderError(self.name, f"cannot write {path}: {err}") from err
                results.append(
                    DeliveryResult.failed(
                        message.key, f"cannot write {path}: {err}", retryable=True
                    )
                )
                continue
            results.append(DeliveryResult.sent(message.key, provider_id=str(path)))
        return results
