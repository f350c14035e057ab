"""The admin's policy pages: every policy and each of its versions as tables, a new version uploaded
(checked first on intake, nothing changes until it is published), and the diff between two versions.

Admins and auditors read; admins upload. Everything goes through intake's ``/v1/policies`` with the
signed-in user's token.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.adapters.zones import POLICIES
from helpdesk_portal.domain import policy_diff, policy_tables, words
from helpdesk_portal.domain.session import User
from helpdesk_portal.domain.views import DEFAULT_ZONE
from helpdesk_portal.entrypoints.web import explain, language, render

READERS = frozenset({"admin", "auditor"})
MAX_DOCUMENT = 256 * 1024  # bytes: a policy is a few kilobytes


def _require(user: User, *roles: str) -> None:
    """The pages exist for admins (and, to read, auditors); anyone else is told there is no such page."""
    if user.role not in (roles or READERS):
        raise NotFoundException()


async def _publishers(api: Api, user: User, items: list[dict[str, Any]]) -> dict[str, str]:
    """Who published, in words: a user's name and login for a user's id; ``service:intake`` (a file
    imported) or the bootstrap ``admin`` as they are."""
    ids = sorted({str(item.get("by")) for item in items if _is_uuid(str(item.get("by")))})

    async def name(user_id: str) -> str:
        try:
            found = await api.read_intake(user.token, f"/v1/users/{user_id}")
        except ApiError as error:
            if error.unauthorized:
                raise
            return user_id
        return f"{found.get('name', '')} ({found.get('login', '')})" if found.get("login") else user_id

    return dict(zip(ids, await asyncio.gather(*(name(i) for i in ids)), strict=True))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def _version_rows(api: Api, user: User, items: list[dict[str, Any]], zone: str,
                        locale: str) -> list[dict[str, Any]]:
    """The versions (or the list's versions in force) with when in words and who by name."""
    names = await _publishers(api, user, items)
    return [{**item, "when": words.instant(item.get("published_at"), item.get("timezone") or zone, locale),
             "by": names.get(str(item.get("by")), item.get("by"))} for item in items]


@get("/admin/policies")
async def policy_list(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """Every policy's version in force: name, time zone, version, who published it and when."""
    _require(user)
    locale = language(request)
    items = (await api.read_intake(user.token, POLICIES)).get("items", [])
    rows = await _version_rows(api, user, items, DEFAULT_ZONE, locale)
    return render(request, "policies.html", user=user, policies=rows)


@get("/admin/policies/{policy_id:str}")
async def policy_page(request: Request[Any, Any, Any], policy_id: str, user: User, api: Api,
                      version: int | None = None) -> Template:
    """One policy: its versions (who, when) and one version — the one in force unless ``version`` — as tables."""
    _require(user)
    locale, _ = language(request), i18n.translations(language(request)).gettext
    shown = await api.read_intake(user.token, f"{POLICIES}/{policy_id}", {"version": version} if version else None)
    versions = (await api.read_intake(user.token, f"{POLICIES}/{policy_id}/versions")).get("items", [])
    tables, unreadable = policy_tables.readable(shown.get("document", ""), _)
    rows = await _version_rows(api, user, versions, _zone_of(tables), locale)
    current = next((row for row in rows if row.get("version") == shown.get("version")), {})
    return render(request, "policy.html", user=user, policy_id=policy_id, shown=shown, tables=tables,
                  unreadable=unreadable, versions=rows, shown_when=current.get("when", ""),
                  shown_by=current.get("by", shown.get("by")))


@get("/admin/policies/{policy_id:str}/diff")
async def policy_diff_page(request: Request[Any, Any, Any], policy_id: str, user: User, api: Api,
                           old: int = 1, new: int | None = None) -> Template:
    """What changed from version ``old`` to version ``new`` (default: the one in force), as tables."""
    _require(user)
    _ = i18n.translations(language(request)).gettext
    path = f"{POLICIES}/{policy_id}"
    before = await api.read_intake(user.token, path, {"version": old})
    after = await api.read_intake(user.token, path, {"version": new} if new else None)
    versions = (await api.read_intake(user.token, f"{path}/versions")).get("items", [])
    changes, unreadable = _compare(before.get("document", ""), after.get("document", ""), _)
    return render(request, "policy_diff.html", user=user, policy_id=policy_id, before=before, after=after,
                  changes=changes, unreadable=unreadable, versions=versions)


def _compare(old: str, new: str, _: Any) -> tuple[list[policy_diff.TableChange], str | None]:
    old_tables, old_error = policy_tables.readable(old, _)
    new_tables, new_error = policy_tables.readable(new, _)
    return policy_diff.compare(old_tables, new_tables), old_error or new_error


def _zone_of(tables: list[policy_tables.Table]) -> str:
    calendar = next((t for t in tables if t.key == "calendar"), None)
    return calendar.rows[0].cells[1] if calendar and calendar.rows else DEFAULT_ZONE


@get("/admin/policies/upload")
async def upload_form(request: Request[Any, Any, Any], user: User) -> Template:
    """The upload page: a TOML file or pasted text, checked before anything is published."""
    _require(user, "admin")
    return render(request, "policy_upload.html", user=user, document="", errors=[], checked=None)


@post("/admin/policies/upload")
async def upload(request: Request[Any, Any, Any], user: User, api: Api) -> Response[Any]:
    """``step=check``: intake's dry run — every error by field, or what publishing would do (and the
    changes against the version in force); ``step=publish``: the new version, then its page."""
    _require(user, "admin")
    form = await request.form()
    document = await _document(form)
    publish = form.get("step") == "publish"
    try:
        answer = await api.policy(user.token, document, validate=not publish)
    except ApiError as error:
        if error.unauthorized or error.status >= 500:
            raise
        return render(request, "policy_upload.html", status_code=422, user=user, document=document, checked=None,
                      errors=error.errors or [{"field": "document", "message": error.detail}],
                      messages=[explain(request, error)])
    if publish:
        api.forget(POLICIES)  # the time zones follow the new version at once on this portal
        return Redirect(f"/admin/policies/{answer['id']}?version={answer['version']}", status_code=303)
    return await _checked(request, user, api, document, answer)


async def _document(form: Any) -> str:
    """The uploaded file's text when one was chosen, else the pasted text."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        return (await upload.read(MAX_DOCUMENT + 1))[:MAX_DOCUMENT].decode("utf-8", errors="replace")
    return str(form.get("document") or "")


async def _checked(request: Request[Any, Any, Any], user: User, api: Api, document: str,
                   summary: dict[str, Any]) -> Template:
    """A document that passed the check: its tables and what it changes against the version in force."""
    _ = i18n.translations(language(request)).gettext
    changes: list[policy_diff.TableChange] = []
    if summary.get("version_in_force"):
        current = await api.read_intake(user.token, f"{POLICIES}/{summary['id']}")
        changes, _unreadable = _compare(current.get("document", ""), document, _)
    tables, _unreadable = policy_tables.readable(document, _)
    return render(request, "policy_upload.html", user=user, document=document, errors=[], checked=summary,
                  changes=changes, tables=tables)


ROUTES = [policy_list, upload_form, upload, policy_diff_page, policy_page]
