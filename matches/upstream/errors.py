"""What can go wrong upstream, as one hierarchy carrying the HTTP status.

Messages are short, human and never contain an API key: they end up in
`Match.fetch_error`, job messages and logs.
"""


class UpstreamError(Exception):
    """Base class; `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None, source: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.source = source


class ServerError(UpstreamError):
    """5xx (Valve's broken GetMatchDetails answers 500 `{}`), a timeout, or no connection."""


class RateLimited(UpstreamError):
    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        daily: bool = False,
        status: int | None = 429,
        source: str = "",
    ) -> None:
        super().__init__(message, status=status, source=source)
        self.retry_after = retry_after
        self.daily = daily


class SourceRefused(UpstreamError):
    """The source refuses our requests, whatever the match: a configuration problem.

    A wrong or malformed key (Steam's 403 page, OpenDota's 400 "Invalid API key
    format"), or another 4xx the source should never answer us. No match is to
    blame: the engine switches the source off for the job and names `setting`,
    the variable to fix.
    """

    def __init__(
        self, message: str, *, setting: str, status: int | None = None, source: str = ""
    ) -> None:
        super().__init__(message, status=status, source=source)
        self.setting = setting


class InvalidApiKey(SourceRefused):
    """The key is wrong, malformed or missing (400/401/403, or none configured)."""


class PrivateProfile(UpstreamError):
    """Steam's status 15: the player has not enabled "Expose Public Match Data"."""


class NotFound(UpstreamError):
    pass


class ParseRefused(UpstreamError):
    """OpenDota answered a parse request with `{"err": …}` instead of a job (mdiller/MangoByte
    cogs/dotastats.py checks for that key): the message carries its words."""


class BadResponse(UpstreamError):
    """Malformed JSON, or JSON without the fields a row needs."""
