"""intake's release routes (IMC-9, CONTRACT §3): agents and admins plan, every signed-in user reads."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, patch, post
from litestar.di import Provide

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.application import Request
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.releases import ReleaseService
from helpdesk_intake.entrypoints.http.meta import answer, provide_command

PLANNERS = (Role.AGENT, Role.ADMIN)


class ReleaseController(Controller):
    path = "/v1/releases"
    tags = ["releases"]
    dependencies = {"command": Provide(provide_command)}

    @post("/", sync_to_thread=True)
    def plan(self, data: cmd.PlanRelease, command: Request, releases: ReleaseService) -> Response[Any]:
        """Plan a release (agent, admin): ``{name, kind: scheduled|unscheduled, date}``; 201 ``{id, …}``.

        A date before today (UTC) answers 422 ``validation_failed`` naming ``date``.
        """
        command.principal.require(*PLANNERS)
        return answer(releases.plan(command, data))

    @patch("/{release_id:str}", sync_to_thread=True)
    def change(self, release_id: str, data: cmd.ChangeRelease, command: Request,
               releases: ReleaseService) -> Response[Any]:
        """Re-date or rename a release (agent, admin); re-dating re-plans every ticket bound to it."""
        command.principal.require(*PLANNERS)
        return answer(releases.change(command, release_id, data))

    @get("/", sync_to_thread=True)
    def list_releases(self, principal: Principal, releases: ReleaseService) -> dict[str, Any]:
        """Every release, soonest first: ``{items: [{id, name, kind, date}]}`` (any signed-in user)."""
        return {"items": releases.list()}

    @get("/{release_id:str}", sync_to_thread=True)
    def get_release(self, release_id: str, principal: Principal, releases: ReleaseService) -> dict[str, Any]:
        """One release: ``{id, name, kind, date, version}`` (any signed-in user)."""
        return releases.get(release_id)
