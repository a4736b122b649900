"""Sign-in, sign-up, the accounts page (linked accounts, API token) and the user's settings."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from matches.identity import api_tokens, signin
from matches.identity.accounts import AccountBusy, take_notices, unlink_account, unlink_summary
from matches.identity.forms import LinkAccountForm, ThrottledAuthenticationForm, UserSettingsForm
from matches.models import Match, SteamAccount, UserSettings
from matches.players import label_of, labels_for
from syncjobs import start_throttle
from syncjobs.engine import AlreadyRunning, EnqueueFailed, TooManyJobs, start_sync
from syncjobs.models import JobType, SyncJob


class SignInView(LoginView):
    template_name = "identity/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: ThrottledAuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        # This browser may sign in as this user even while a guesser has the username locked.
        response.set_cookie(
            signin.DEVICE_COOKIE,
            signin.device_cookie(form.cleaned_data["username"]),
            max_age=signin.DEVICE_COOKIE_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response

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
        "identity/signup.html",
        {"form": form, "steam_sign_in": settings.STEAM_SIGN_IN_ENABLED},
    )


# The key of a token just created, kept in the session for the one page that shows it.
NEW_TOKEN_SESSION_KEY = "dotasync_new_api_token"


@never_cache  # the page may show a new API token: no copy of it in any cache
@require_http_methods(["GET", "POST"])
def accounts(request: HttpRequest) -> HttpResponse:
    form = LinkAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = form.link(request.user)
        if account is not None:
            messages.success(request, f"Linked Steam account {account.account_id}.")
            # Linking never changes which account the pages show (matches.choice).
            if request.POST.get("then") == "sync":
                _start_first_sync(request, account)
            return redirect("accounts")
    for notice in take_notices(request.user):
        messages.warning(request, notice)
    with_state = _accounts_with_sync_state(request.user)
    labels = labels_for(account.account_id for account, _ in with_state)
    linked = [
        (
            account,
            label_of(account.account_id, labels),
            Match.objects.for_account(account).details_summary(),
            syncing,
        )
        for account, syncing in with_state
    ]
    return render(
        request,
        "identity/accounts.html",
        {
            "form": form,
            "linked": linked,
            "steam_sign_in": settings.STEAM_SIGN_IN_ENABLED,
            "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
            "token": api_tokens.token_of(request.user),
            "api_url": request.build_absolute_uri(reverse("api-match-list")),
            "show_avatars": UserSettings.of(request.user).allow_outside_images,
        },
    )


def _start_first_sync(request: HttpRequest, account: SteamAccount) -> None:
    if (wait := start_throttle.seconds_to_wait(request)) is not None:
        refusal = start_throttle.refusal(wait)
        messages.error(request, f"The sync of {account} did not start. {refusal}")
        return
    try:
        start_sync(account, JobType.INCREMENTAL, request.user)
    except AlreadyRunning:
        messages.info(request, f"A sync of {account} is already under way.")
    except TooManyJobs as exc:
        messages.error(request, f"The sync of {account} did not start. {exc}")
    except EnqueueFailed as exc:
        messages.error(request, f"The sync of {account} could not start. {exc}")
    else:
        messages.info(
            request,
            f"Syncing {account}: its matches appear as they arrive. Follow it with its Sync "
            "link below.",
        )


def _accounts_with_sync_state(user) -> list[tuple[SteamAccount, bool]]:
    """The user's accounts, each with whether a sync of it waits or runs."""
    busy = set(
        SyncJob.objects.active().filter(account__owner=user).values_list("account_id", flat=True)
    )
    return [(account, account.pk in busy) for account in SteamAccount.objects.filter(owner=user)]


@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    try:
        request.session[NEW_TOKEN_SESSION_KEY] = api_tokens.create_token(request.user)
    except api_tokens.TokenExists as exc:
        messages.error(request, str(exc))
    return redirect(reverse("accounts") + "#api-token")


@require_POST
def token_revoke(request: HttpRequest) -> HttpResponse:
    request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    if api_tokens.revoke_token(request.user):
        messages.success(request, "API token revoked: requests with it are refused from now on.")
    return redirect(reverse("accounts") + "#api-token")


@require_http_methods(["GET", "POST"])
def unlink(request: HttpRequest, account_id: int) -> HttpResponse:
    """A confirmation page (GET), then the unlinking itself (POST)."""
    account = get_object_or_404(SteamAccount, account_id=account_id, owner=request.user)
    if request.method == "POST":
        try:
            summary = unlink_account(request.user, account_id)
        except AccountBusy as exc:
            messages.error(request, str(exc))
            return redirect("unlink_account", account_id=account_id)
        messages.success(
            request,
            f"Unlinked Steam account {account_id}: {summary.removed} of its matches deleted, "
            f"{summary.shared} kept because another account played them too.",
        )
        return redirect("accounts")
    steam_uid = str(account.steam_id64)
    return render(
        request,
        "identity/unlink_account.html",
        {
            "account": account,
            "summary": unlink_summary(account),
            "busy": account.sync_jobs.active().exists(),
            "signs_in_with_it": request.user.social_auth.filter(
                provider="steam", uid=steam_uid
            ).exists(),
        },
    )


@require_http_methods(["GET", "POST"])
def user_settings(request: HttpRequest) -> HttpResponse:
    form = UserSettingsForm(request.POST or None, instance=UserSettings.of(request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("user_settings")
    return render(request, "identity/settings.html", {"form": form})
