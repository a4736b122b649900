"""Sign-in, sign-up, sign-in through Steam, the linked-accounts page and the user's settings."""

from django.contrib.auth.views import LogoutView
from django.urls import include, path

from matches import account_views

urlpatterns = [
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("signup/", account_views.signup, name="signup"),
    path("auth/", include("social_django.urls", namespace="social")),
    path("accounts/", account_views.accounts, name="accounts"),
    path("settings/", account_views.user_settings, name="user_settings"),
]
