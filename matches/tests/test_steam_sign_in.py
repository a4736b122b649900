"""Sign in through Steam over HTTP: forged callbacks never reach the network, Steam's own do.

Steam is played by `responses` with the documents Steam's OpenID provider serves (the XRDS
of https://steamcommunity.com/openid and of a claimed id, and its check_authentication
answer, as in social-core's tests/backends/test_steam.py). A local listener stands for the
internal service a forged callback would have the server fetch.
"""

import base64
import hashlib
import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
import responses
from django.contrib.messages import get_messages
from django.test import Client
from openid import fetchers

from matches.identity.steam_openid import (
    OPENID2_NS,
    STEAM_OP_ENDPOINT,
    FetchRefused,
    SteamOnlyFetcher,
)
from matches.identity.steam_views import NOT_FROM_STEAM
from matches.models import STEAM_ID64_OFFSET, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID

pytestmark = pytest.mark.django_db

STEAM_ID64 = str(ACCOUNT_ID + STEAM_ID64_OFFSET)
STEAM_IDENTITY = f"https://steamcommunity.com/openid/id/{STEAM_ID64}"


def xrds(service_type: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<xrds:XRDS xmlns:xrds="xri://$xrds" xmlns="xri://$xrd*($v*2.0)"><XRD>'
        f'<Service priority="0"><Type>{service_type}</Type><URI>{STEAM_OP_ENDPOINT}</URI>'
        "</Service></XRD></xrds:XRDS>"
    )


class Listener:
    """A TCP port that accepts connections, counts them and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            self._held.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self._held:
            connection.close()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture
def steam(settings) -> Iterator[responses.RequestsMock]:
    settings.STEAM_SIGN_IN_ENABLED = True
    settings.SOCIAL_AUTH_STEAM_API_KEY = "steam-key"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru("http://127.0.0.1")
        mock.get("https://steamcommunity.com/openid", body=xrds(f"{OPENID2_NS}/server"))
        yield mock


def begin(client: Client) -> str:
    """Start a Steam sign-in; the return URL Steam would be told to send the browser to."""
    response = client.post("/auth/login/steam/")
    # OpenID 2.0 requests go by a self-submitting form, not a redirect.
    assert response.status_code == 200
    assert f'action="{STEAM_OP_ENDPOINT}"' in response.text
    return html.unescape(re.search(r'name="openid.return_to" value="([^"]+)"', response.text)[1])


def assertion(return_to: str, claimed_id: str, **overrides: str) -> dict[str, str]:
    """The fields of a positive assertion as Steam sends them back (GET to return_to)."""
    fields = {
        "openid.ns": OPENID2_NS,
        "openid.mode": "id_res",
        "openid.op_endpoint": STEAM_OP_ENDPOINT,
        "openid.claimed_id": claimed_id,
        "openid.identity": claimed_id,
        "openid.return_to": return_to,
        "openid.response_nonce": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "abc",
        "openid.assoc_handle": "1234567890",
        "openid.signed": "signed,op_endpoint,claimed_id,identity,return_to,response_nonce,"
        "assoc_handle",
        "openid.sig": "c2lnbmF0dXJl",
    }
    fields.update(overrides)
    return {name: value for name, value in fields.items() if value}


def callback(client: Client, return_to: str, fields: dict[str, str]):
    query = dict(parse_qsl(urlsplit(return_to).query))
    return client.get(urlsplit(return_to).path + "?" + urlencode({**query, **fields}))


def forged(listener: Listener) -> list[dict[str, str]]:
    """Callbacks that would have python-openid fetch the listener, one way or another."""
    return [
        {"openid.claimed_id": listener.url, "openid.identity": listener.url},
        {"openid.claimed_id": listener.url},
        {"openid.claimed_id": f"{listener.url}openid/id/{STEAM_ID64}"},
        {"openid.claimed_id": f"https://steamcommunity.com.evil.example/openid/id/{STEAM_ID64}"},
        {"openid.claimed_id": STEAM_IDENTITY, "openid.identity": listener.url},
        {"openid.op_endpoint": listener.url},
        # OpenID 1: the claimed id would come from the return URL's openid1_claimed_id.
        {"openid.ns": "", "openid1_claimed_id": listener.url},
    ]


@pytest.mark.parametrize("case", range(7))
def test_a_forged_callback_never_reaches_the_network_and_answers_at_once(
    client, steam, listener, monkeypatch, case
):
    return_to = begin(client)
    # python-openid's own fetcher, so only the check before the library stands in the way.
    monkeypatch.setattr(fetchers, "_default_fetcher", fetchers.Urllib2Fetcher())
    fields = assertion(return_to, STEAM_IDENTITY, **forged(listener)[case])

    started = time.monotonic()
    response = callback(client, return_to, fields)
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [NOT_FROM_STEAM]
    time.sleep(0.2)  # a connection the server opened would have been accepted by now
    assert listener.connections == 0
    assert "_auth_user_id" not in client.session


def test_a_forged_post_callback_is_refused_too(client, steam, listener, monkeypatch):
    return_to = begin(client)
    monkeypatch.setattr(fetchers, "_default_fetcher", fetchers.Urllib2Fetcher())

    response = client.post(
        urlsplit(return_to).path + "?" + urlsplit(return_to).query,
        {"openid.claimed_id": listener.url, "openid.identity": listener.url},
    )

    assert response["Location"] == "/login/"
    time.sleep(0.2)
    assert listener.connections == 0


def test_steams_own_callback_signs_in_through_the_library(client, steam, user):
    steam.get(STEAM_IDENTITY, body=xrds(f"{OPENID2_NS}/signon"))
    check = steam.post(STEAM_OP_ENDPOINT, body=f"ns:{OPENID2_NS}\nis_valid:true\n")
    steam.get(
        "https://api.steampowered.com/ISteamUser/GetPlayerSummaries/v0002/",
        json={"response": {"players": [{"steamid": STEAM_ID64, "personaname": "alice"}]}},
    )
    client.force_login(user)
    return_to = begin(client)

    response = callback(client, return_to, assertion(return_to, STEAM_IDENTITY))

    assert response.status_code == 302, response.content
    assert response["Location"] != "/login/"
    assert check.call_count == 1  # Steam vouched for the signature
    asked = check.calls[0].request
    assert asked.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(asked.body))["openid.mode"] == "check_authentication"
    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).owner == user


def test_steams_callback_with_a_signature_steam_denies_signs_nobody_in(client, steam):
    steam.get(STEAM_IDENTITY, body=xrds(f"{OPENID2_NS}/signon"))
    steam.post(STEAM_OP_ENDPOINT, body=f"ns:{OPENID2_NS}\nis_valid:false\n")
    return_to = begin(client)

    response = callback(client, return_to, assertion(return_to, STEAM_IDENTITY))

    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/auth/login/steam/", "/auth/complete/steam/"])
def test_the_steam_routes_are_gone_while_steam_sign_in_is_off(client, settings, path):
    settings.STEAM_SIGN_IN_ENABLED = False

    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_only_steam_has_routes(client, settings):
    settings.STEAM_SIGN_IN_ENABLED = True

    assert client.post("/auth/login/github/").status_code == 404
    assert client.get("/auth/complete/github/").status_code == 404


# --- the fetcher python-openid uses ---------------------------------------------------------


def test_the_fetcher_gives_up_on_a_host_that_never_answers(listener):
    fetcher = SteamOnlyFetcher(origin=listener.url, timeout=(0.5, 0.5))

    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        fetcher.fetch(listener.url)

    assert time.monotonic() - started < 1.5
    assert listener.connections == 1


def test_the_fetcher_fetches_nothing_outside_steam(listener):
    with pytest.raises(FetchRefused):
        SteamOnlyFetcher().fetch(listener.url)

    time.sleep(0.2)
    assert listener.connections == 0


def test_the_fetcher_follows_no_redirect_away_from_steam(listener):
    with responses.RequestsMock() as mock:
        mock.add_passthru("http://127.0.0.1")
        mock.get(STEAM_IDENTITY, status=302, headers={"Location": listener.url})
        with pytest.raises(FetchRefused):
            SteamOnlyFetcher().fetch(STEAM_IDENTITY)

    time.sleep(0.2)
    assert listener.connections == 0


def test_the_fetcher_follows_a_redirect_within_steam():
    with responses.RequestsMock() as mock:
        mock.get("https://steamcommunity.com/openid/", status=301, headers={"Location": "/openid"})
        mock.get("https://steamcommunity.com/openid", body="found")

        answer = SteamOnlyFetcher().fetch("https://steamcommunity.com/openid/")

    assert (answer.status, answer.body, answer.final_url) == (
        200,
        "found",
        "https://steamcommunity.com/openid",
    )


# --- the way to Steam under the site's Content-Security-Policy ------------------------------


def sha256_source(code: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"


def test_the_sign_in_pages_steam_button_posts_to_the_begin_url(client, steam):
    page = client.get("/login/?next=/stats/").text

    form = re.search(
        r'<form method="post" action="([^"]+)" class="steam-sign-in">(.*?)</form>', page, re.S
    )
    assert form[1] == "/auth/login/steam/"
    assert 'name="csrfmiddlewaretoken"' in form[2]
    assert 'name="next" value="/stats/"' in form[2]


def test_the_accounts_page_links_steam_through_a_post_form_too(client, steam, user):
    client.force_login(user)
    page = client.get("/accounts/").text

    form = re.search(
        r'<form method="post" action="([^"]+)" class="steam-sign-in">(.*?)</form>', page, re.S
    )
    assert form[1] == "/auth/login/steam/"
    assert 'name="csrfmiddlewaretoken"' in form[2]
    assert 'name="next" value="/accounts/"' in form[2]


def test_the_page_that_goes_on_to_steam_allows_exactly_its_own_two_scripts(client, steam):
    response = client.post("/auth/login/steam/")

    policy = response["Content-Security-Policy"]
    handler = re.search(r'onload="([^"]*)"', response.text)[1]
    script = re.search(r"<script>(.*?)</script>", response.text, re.S)[1]
    assert policy.startswith("default-src 'none'; script-src 'unsafe-hashes' ")
    assert f"{sha256_source(handler)} {sha256_source(script)};" in policy
    assert f"form-action {STEAM_OP_ENDPOINT};" in policy
    assert "unsafe-inline" not in policy
