"""The time zone of each policy, from the published versions (``GET /v1/policies``): the portal holds no
copy of the policy files. Kept per user for a few seconds, so a new version shows within them."""

from __future__ import annotations

from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.domain.session import User

KEPT_SECONDS = 10.0
POLICIES = "/v1/policies"


async def policy_zones(api: Api, user: User) -> dict[str, str]:
    """``{policy id: time zone}`` of the policies this user may read; empty (the default zone) when
    intake cannot say, so a page still serves."""
    try:
        listed = await api.read_intake_kept(user.id, user.token, POLICIES, seconds=KEPT_SECONDS)
    except ApiError as error:
        if error.unauthorized:
            raise
        return {}
    return {item["id"]: item["timezone"] for item in listed.get("items", []) if item.get("timezone")}
