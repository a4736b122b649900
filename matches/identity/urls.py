"""Sign-in, sign-up, sign-in through Steam, the linked-accounts page and the user's settings."""

from django.contrib.auth.views import LogoutView
from django.urls import include, path

from matches.identity import account_views, parse_views, steam_views

# Only the two steps of Steam's OpenID sign-in; named like social-auth-app-django's own.
steam_patterns = [
    path("login/<str:backend>/", steam_views.begin, name="begin"),
    path("complete/<str:backend>/", steam_views.complete, name="complete"),
]

urlpatterns = [
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("signup/", account_views.signup, name="signup"),
    path("auth/", include((steam_patterns, "social"))),
    path("accounts/", account_views.accounts, name="accounts"),
    path("accounts/<int:account_id>/unlink/", account_views.unlink, name="unlink_account"),
    path(
        "accounts/<int:account_id>/parsing/", parse_views.parse_switch, name="account_parse_switch"
    ),
    path("matches/<int:match_id>/parse/", parse_views.parse_match, name="parse_match"),
    path("accounts/token/", account_views.token_create, name="api_token_create"),
    path("accounts/token/revoke/", account_views.token_revoke, name="api_token_revoke"),
    path("settings/", account_views.user_settings, name="user_settings"),
]
