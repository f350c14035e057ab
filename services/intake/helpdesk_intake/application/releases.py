"""Release use cases (IMC-9): plan, re-date and rename releases; list them for every signed-in user.

A release is the ``Release`` aggregate's events (made public by the relay on
``helpdesk.release.<id>.<event>``) plus a row in ``intake.releases`` written in the
same transaction, which the list reads; the row is a projection of the events.
"""

from __future__ import annotations

from typing import Any

from helpdesk_intake.adapters.eventstore import SideRow, release_row
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.service import Change, IntakeService, NotFound, Outcome, Request, new_id
from helpdesk_intake.domain.base import InvalidInput
from helpdesk_intake.domain.release import Release, ReleaseKind


def release_answer(release: Release) -> dict[str, Any]:
    return {"id": str(release.id), "name": release.name, "kind": release.kind.value,
            "date": release.date.isoformat(), "version": release.version}


class ReleaseService(IntakeService):
    def plan(self, request: Request, command: cmd.PlanRelease) -> Outcome:
        def decide() -> Change:
            release = Release.plan(self.context(request), id=new_id(), name=command.name,
                                   kind=ReleaseKind(command.kind), date=command.date)
            return Change([release], release_answer(release), rows=[_row(release)], status_code=201)

        return self.execute(request, decide)

    def change(self, request: Request, release_id: str, command: cmd.ChangeRelease) -> Outcome:
        def decide() -> Change:
            release = self.load(Release, release_id)
            given = command.given()
            release.change(self.context(request), name=given.get("name"), date=given.get("date"))
            return Change([release], release_answer(release), rows=[_row(release)])

        return self.execute(request, decide, key=release_id)

    def list(self) -> list[dict[str, Any]]:
        """Every release, soonest first."""
        return [{**row, "date": row["date"].isoformat()} for row in self.store.rows.releases()]

    def get(self, release_id: str) -> dict[str, Any]:
        return release_answer(self.load(Release, release_id))


def _row(release: Release) -> SideRow:
    """The listed row of a release, as its events leave it."""
    return release_row(release.id, release.name, release.kind.value, release.date)


def promised_release(service: IntakeService, release_id: str | None) -> None:
    """A ticket is promised only for a release that exists (IMC-9): an unknown id is invalid input."""
    if release_id is None:
        return
    try:
        service.load(Release, release_id)
    except NotFound:
        raise InvalidInput(f"no release {release_id}", field="release") from None
