"""HELPDESK_POLICY_DIR as a watched source of policy versions (CONTRACT §5).

At start the presets and the directory's ``*.toml`` files are imported as versions
where they differ from the version in force (a preset only where no file claims its
id); then the directory is looked at every few seconds and a file whose content
changed is imported. Contents are hashed, not mtimes: a Kubernetes ConfigMap update
swaps a symlink and keeps old timestamps. A bad file is refused, logged and counted;
the version in force stays. Several replicas importing at once race on the same
aggregate and optimistic concurrency lets one version in (the others find it in force).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tomllib
from pathlib import Path

from prometheus_client import Counter

from helpdesk_shared.policies import PRESETS_DIR

from helpdesk_intake.application import Request
from helpdesk_intake.application.policies import IMPORTER, PolicyService
from helpdesk_intake.domain.base import InvalidInput

log = logging.getLogger("helpdesk.intake.policies")
REFUSED = Counter("helpdesk_policy_files_refused_total", "Policy files refused as invalid (the version in force stays)")
IMPORTED = Counter("helpdesk_policy_files_imported_total", "Policy files imported as a new version")


class PolicyFiles:
    """Imports the presets and the operator's directory; ``changed()`` imports what changed since."""

    def __init__(self, policies: PolicyService, directory: str | None) -> None:
        self._policies = policies
        self._directory = Path(directory) if directory else None
        self._seen: dict[Path, str] = {}  # each file's content hash as last looked at
        self.started = False

    def start(self) -> None:
        """The first import: the directory's files, then the presets no file overrides."""
        claimed = {_declared_id(path, path.read_bytes()) for path in self._files()}
        self.changed()
        for path in sorted(PRESETS_DIR.glob("*.toml")):
            if path.stem not in claimed:
                self._import(path, path.read_text(encoding="utf-8"))
        self.started = True

    def look(self) -> None:
        """The first import until it succeeded, then the changes."""
        if self.started:
            self.changed()
        else:
            self.start()

    def changed(self) -> int:
        """Import each file whose content changed since last looked at; the number imported."""
        imported = 0
        for path in self._files():
            try:
                content = path.read_bytes()
            except OSError as error:  # removed between listing and reading (a ConfigMap swap)
                log.info("policy file %s not read: %s", path, error)
                continue
            digest = hashlib.sha256(content).hexdigest()
            if self._seen.get(path) != digest:
                self._seen[path] = digest
                imported += self._import(path, content.decode("utf-8", errors="replace"))
        return imported

    def _files(self) -> list[Path]:
        if self._directory is None or not self._directory.is_dir():
            return []
        return sorted(p for p in self._directory.glob("*.toml") if p.is_file())

    def _import(self, path: Path, text: str) -> int:
        try:
            outcome = self._policies.publish(Request(principal=IMPORTER), text)
        except InvalidInput as error:
            REFUSED.inc()
            log.error("policy file %s refused, the version in force stays: %s",
                      path, "; ".join(f"{field}: {why}" for field, why in error.fields))
            return 0
        if outcome.status_code != 201:
            return 0
        IMPORTED.inc()
        log.info("policy file %s imported as %s version %s", path, outcome.body["id"], outcome.body["version"])
        return 1


def _declared_id(path: Path, content: bytes) -> str:
    """The policy id a file claims (its ``id``, else its name), even when the rest of it is invalid."""
    try:
        declared = tomllib.loads(content.decode("utf-8", errors="replace")).get("id")
    except tomllib.TOMLDecodeError:
        declared = None
    return declared if isinstance(declared, str) else path.stem


async def watch_policy_files(files: PolicyFiles, every: float, stopping: asyncio.Event) -> None:
    """Every ``every`` seconds import what changed, until ``stopping`` (the first import is the caller's)."""
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), every)
        except TimeoutError:
            try:
                await asyncio.to_thread(files.look)
            except Exception:  # noqa: BLE001 - the database away for a moment: look again next time
                log.exception("policy files not imported this time")


async def first_import(files: PolicyFiles) -> None:
    """The presets and the directory, imported before the app answers (the watcher retries a failure)."""
    try:
        await asyncio.to_thread(files.start)
    except Exception:  # noqa: BLE001 - intake still serves; the watcher tries again
        log.exception("policy files not imported at start")
