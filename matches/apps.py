from django.apps import AppConfig


class MatchesConfig(AppConfig):
    name = "matches"

    def ready(self) -> None:
        from django.conf import settings

        from dotasync.logconfig import install_redaction

        install_redaction(
            [settings.STEAM_API_KEY, settings.OPENDOTA_API_KEY, settings.EMAIL_HOST_PASSWORD]
        )
