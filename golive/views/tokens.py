"""Each user's personal API tokens: make one (its key shown once), see when each was last used,
revoke one. Staff do the same for anyone from the admin."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from golive import audit
from golive.models import ApiToken, AuditEntry
from golive.services import TokenRefused, create_api_token, revoke_api_tokens

LIFETIMES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("never", "Never (revoke it when no longer needed)"),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label="What will use it",
        max_length=80,
        help_text="E.g. “ServiceNow sync” or “Data warehouse”: you will see it in this list.",
        error_messages={
            "required": "Name what will use the token, so you know which one to revoke later.",
            "max_length": "Use at most 80 characters.",
        },
    )
    lifetime = forms.ChoiceField(
        label="Expires after",
        choices=LIFETIMES,
        initial="90",
        error_messages={"invalid_choice": "Choose one of the offered lifetimes."},
    )

    def expires_at(self) -> dt.datetime | None:
        lifetime = self.cleaned_data["lifetime"]
        if lifetime == "never":
            return None
        return timezone.now() + dt.timedelta(days=int(lifetime))


def _page(
    request: HttpRequest, form: TokenForm, *, key: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "tokens": list(ApiToken.objects.filter(user=request.user).select_related("revoked_by")),
        "key": key,
        "now": timezone.now(),
    }
    response = render(request, "golive/api_tokens.html", context, status=status)
    # The page can hold a new key: no cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        token, key = create_api_token(
            user=request.user,
            name=form.cleaned_data["name"],
            created_by=request.user,
            expires_at=form.expires_at(),
        )
    except TokenRefused as exc:
        form.add_error(None, str(exc))
        return _page(request, form, status=400)
    audit.record(action=AuditEntry.Action.TOKEN_CREATED, request=request, detail=token.name)
    messages.success(request, f"Token “{token.name}” is made. Copy its key now: it is shown once.")
    return _page(request, TokenForm(), key=key)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Someone else's token is answered as missing, so ids do not leak.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if revoke_api_tokens(tokens=ApiToken.objects.filter(pk=token.pk), by=request.user):
        audit.record(action=AuditEntry.Action.TOKEN_REVOKED, request=request, detail=token.name)
        messages.success(request, f"Token “{token.name}” is revoked: it opens nothing any more.")
    else:
        messages.info(request, f"Token “{token.name}” was revoked already.")
    return redirect("golive:api_tokens")


urlpatterns: list[URLPattern] = [
    path("account/api-tokens/", api_tokens, name="api_tokens"),
    path("account/api-tokens/<int:pk>/revoke/", api_token_revoke, name="api_token_revoke"),
]
