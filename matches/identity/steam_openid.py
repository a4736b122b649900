"""What python-openid may do for "Sign in through Steam": which callbacks reach it, what it fetches.

python-openid verifies a positive assertion by discovering its `openid.claimed_id` again,
an HTTP fetch of whatever URL the callback names, before any signature is checked;
social-core compares the identity with Steam's prefix only afterwards. So a forged callback
could make the server fetch any URL, and one that never answers held a web worker for as
long as the socket allowed. Two guards, each enough on its own:

- `forged_callback_reason` refuses, before the library sees it, every callback whose
  identity is not one of Steam's (`https://steamcommunity.com/openid/id/<SteamID64>`) or
  that names another provider endpoint or another OpenID version;
- `SteamOnlyFetcher`, installed as python-openid's fetcher, fetches only from Steam's
  origin, follows no redirect to another one, and gives up after a short timeout.
"""

import base64
import hashlib
import re
from urllib.parse import urljoin, urlsplit

import requests
from django.http import QueryDict
from openid import fetchers, oidutil

# What Steam's OpenID 2.0 provider sends back (https://steamcommunity.com/dev: "Steam is
# an OpenID provider ... your claimed id will be https://steamcommunity.com/openid/id/<steamid>").
STEAM_ORIGIN = "https://steamcommunity.com"
STEAM_OP_ENDPOINT = f"{STEAM_ORIGIN}/openid/login"
STEAM_IDENTITY = re.compile(r"https://steamcommunity\.com/openid/id/[0-9]{17}")
OPENID2_NS = "http://specs.openid.net/auth/2.0"

# Seconds to connect, then to wait for each read; Steam answers in well under a second.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
MAX_REDIRECTS = 3


def forged_callback_reason(*sources: QueryDict) -> str | None:
    """Why this callback cannot come from Steam, or None when it may go to the library.

    `sources` are the request's query and form: the library merges both, so a value in
    either counts, and every value of a repeated field is checked.
    """

    def values(field: str) -> list[str]:
        return [value for source in sources for value in source.getlist(field)]

    identities = values("openid.claimed_id") + values("openid.identity")
    if any(not STEAM_IDENTITY.fullmatch(identity) for identity in identities):
        return "the identity is not a Steam account"
    if any(endpoint != STEAM_OP_ENDPOINT for endpoint in values("openid.op_endpoint")):
        return "the provider is not Steam"
    if "id_res" in values("openid.mode"):
        # An OpenID 1 assertion would take its claimed id from the return URL instead.
        if set(values("openid.ns")) != {OPENID2_NS}:
            return "not an OpenID 2.0 assertion"
        if not values("openid.claimed_id") or len(set(identities)) != 1:
            return "the assertion names no single Steam account"
    return None


class FetchRefused(Exception):
    """A URL outside the allowed origin, or too many redirects."""


class SteamOnlyFetcher(fetchers.HTTPFetcher):
    """python-openid's HTTP fetcher, limited to one origin and a short timeout."""

    def __init__(
        self,
        origin: str = STEAM_ORIGIN,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        self.origin = _origin_of(origin)
        self.timeout = timeout

    def fetch(
        self, url: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> fetchers.HTTPResponse:
        for _ in range(MAX_REDIRECTS + 1):
            if _origin_of(url) != self.origin:
                raise FetchRefused(f"Sign-in through Steam fetches only from {self.origin}.")
            sent = {"User-Agent": fetchers.USER_AGENT, **(headers or {})}
            if body is not None:
                # What urllib, python-openid's own fetcher, says of a body it posts.
                sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
            response = requests.request(
                "POST" if body is not None else "GET",
                url,
                data=body,
                headers=sent,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                if not response.is_redirect:
                    return _openid_response(url, response)
                # A redirect is followed by GET, as browsers and urllib do after a POST.
                url, body = urljoin(url, response.headers["Location"]), None
        raise FetchRefused(f"More than {MAX_REDIRECTS} redirects.")


def _origin_of(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or ""), parts.port or default_port


def _openid_response(url: str, response: requests.Response) -> fetchers.HTTPResponse:
    content = response.raw.read(fetchers.MAX_RESPONSE_KB * 1024, decode_content=True)
    return fetchers.HTTPResponse(
        final_url=url,
        status=response.status_code,
        headers={name.lower(): value for name, value in response.headers.items()},
        body=content.decode(response.encoding or "latin-1", errors="replace"),
    )


def _auto_submit_policy() -> str:
    """The Content-Security-Policy of the page that sends the browser on to Steam.

    python-openid sends an OpenID 2.0 request as a form that submits itself: an onload
    handler and an inline script, which the site's policy refuses. This page allows exactly
    those two (by hash) and a form to Steam's endpoint, nothing else.
    """
    page = oidutil.autoSubmitHTML("")
    handler = re.search(r'onload="([^"]*)"', page)[1]
    script = re.search(r"<script>(.*?)</script>", page, re.DOTALL)[1]
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in (handler, script)
    )
    return (
        f"default-src 'none'; script-src 'unsafe-hashes' {hashes}; "
        f"form-action {STEAM_OP_ENDPOINT}; base-uri 'none'; frame-ancestors 'none'"
    )


AUTO_SUBMIT_POLICY = _auto_submit_policy()


def install_fetcher() -> None:
    """Make SteamOnlyFetcher python-openid's fetcher for the whole process."""
    fetchers.setDefaultFetcher(SteamOnlyFetcher())
