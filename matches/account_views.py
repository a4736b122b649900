"""Sign-in, sign-up and the linked-accounts page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from matches.forms import LinkAccountForm, ThrottledAuthenticationForm
from matches.models import Match, SteamAccount, UserSettings
from matches.players import label_of, labels_for


class SignInView(LoginView):
    template_name = "registration/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(
            steam_sign_in=settings.STEAM_SIGN_IN_ENABLED,
            allow_signup=settings.ALLOW_SIGNUP,
            **kwargs,
        )


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is closed")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Link your Steam account to start syncing.")
        return redirect("accounts")
    return render(
        request,
        "registration/signup.html",
        {"form": form, "steam_sign_in": settings.STEAM_SIGN_IN_ENABLED},
    )


@require_http_methods(["GET", "POST"])
def accounts(request: HttpRequest) -> HttpResponse:
    form = LinkAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = form.link(request.user)
        if account is not None:
            messages.success(request, f"Linked Steam account {account.account_id}.")
            return redirect("accounts")
    accounts = list(SteamAccount.objects.filter(owner=request.user))
    labels = labels_for(account.account_id for account in accounts)
    linked = [
        (
            account,
            label_of(account.account_id, labels),
            Match.objects.for_account(account).details_summary(),
        )
        for account in accounts
    ]
    return render(
        request,
        "matches/accounts.html",
        {
            "form": form,
            "linked": linked,
            "steam_sign_in": settings.STEAM_SIGN_IN_ENABLED,
            "show_avatars": UserSettings.of(request.user).allow_outside_images,
        },
    )
