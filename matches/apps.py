from django.apps import AppConfig


class MatchesConfig(AppConfig):
    name = "matches"

    def ready(self) -> None:
        from django.conf import settings

        from dotasync.logconfig import install_redaction
        from matches import checks  # noqa: F401  (registers the deploy checks)
        from matches.identity.steam_openid import install_fetcher

        install_redaction(
            [settings.STEAM_API_KEY, settings.OPENDOTA_API_KEY, settings.EMAIL_HOST_PASSWORD]
        )
        # Steam sign-in's OpenID fetches: Steam only, short timeouts
        # (matches.identity.steam_openid).
        install_fetcher()
