"""The HTTP side of webhooks: POST a signed CloudEvent to the checked address; ask intake for secrets.

Before each attempt the URL's host is resolved and every address checked
(``helpdesk_shared.webhook_targets``); the connection goes to the address checked,
with the ``Host`` header and TLS server name of the URL, so a DNS answer that changes
after the check cannot send the request elsewhere. Redirects are not followed and
no proxy from the environment is used.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from helpdesk_shared.webhook_targets import RefusedTarget, check_url, resolve

from helpdesk_notify.application.webhooks import WebhookFailed


class PinnedPoster:
    """POSTs to webhook URLs over one connection pool, each request to the address just checked."""

    def __init__(self, timeout: float, allow_loopback: bool) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False)
        self._allow_loopback = allow_loopback

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """The answer's status code; ``WebhookFailed`` when no answer came (or the target is refused)."""
        try:
            parts = check_url(url, self._allow_loopback)
            address = await resolve(parts, self._allow_loopback)
        except RefusedTarget as refused:
            raise WebhookFailed(f"refused: {refused}", permanent=True) from None
        host = f"[{address}]" if ":" in address else address
        pinned = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        try:
            async with self._client.stream("POST", pinned, content=body, extensions=extensions,
                                           headers={**headers, "Host": parts.netloc}) as response:
                return response.status_code
        except httpx.HTTPError as error:
            raise WebhookFailed(f"{type(error).__name__}: {error}") from None

    async def close(self) -> None:
        await self._client.aclose()


class IntakeSecrets:
    """Webhook secrets, asked of intake with the static service token (``HELPDESK_SERVICE_TOKEN``), kept in memory."""

    def __init__(self, intake_url: str, service_token: str | None, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=intake_url, timeout=timeout, trust_env=False)
        self._token = service_token or ""  # unset: intake answers 401 and deliveries wait for it
        self._secrets: dict[str, str] = {}

    async def get(self, webhook_id: str) -> str:
        if (secret := self._secrets.get(webhook_id)) is not None:
            return secret
        try:
            response = await self._client.get(f"/v1/webhooks/{webhook_id}/secret",
                                              headers={"Authorization": f"Bearer {self._token}"})
        except httpx.HTTPError as error:
            raise WebhookFailed(f"intake is unreachable for the secret: {error}") from None
        if response.status_code == 404:
            raise WebhookFailed("the webhook was removed: intake has no secret for it", permanent=True)
        if response.status_code != 200:
            raise WebhookFailed(f"intake answered {response.status_code} for the secret")
        self._secrets[webhook_id] = secret = str(response.json()["secret"])
        return secret

    async def close(self) -> None:
        await self._client.aclose()


def origin(url: str) -> str:
    """The scheme and host of a URL, for logs (never its path, which may carry a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
