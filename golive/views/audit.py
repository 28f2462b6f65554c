"""The go-live's audit log for its command center: sign-ins, failed sign-ins and sign-outs of its
members, membership changes, exports and API tokens, newest first (golive/audit.py)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.http import urlencode

from golive.audit import entries_for
from golive.models import AuditEntry
from golive.permissions import LEADS
from golive.views.golives import go_live_membership, go_live_page

PER_PAGE = 50


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label="What",
        choices=[("", "Everything"), *AuditEntry.Action.choices],
        required=False,
        error_messages={"invalid_choice": "Choose one of the listed kinds of entry."},
    )


@login_required
def audit_log(request: HttpRequest, pk: int) -> HttpResponse:
    membership = go_live_membership(request, pk, LEADS)
    form = AuditFilterForm(request.GET or None)
    entries = entries_for(membership.go_live)
    action = form.cleaned_data["action"] if form.is_valid() else ""
    if action:
        entries = entries.filter(action=action)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    context = go_live_page(
        membership,
        "golive:audit",
        form=form,
        page=page,
        # The pages' links keep the filter.
        filter_query=f"{urlencode({'action': action})}&" if action else "",
    )
    return render(request, "golive/audit.html", context)


urlpatterns: list[URLPattern] = [
    path("go-lives/<int:pk>/audit/", audit_log, name="audit"),
]
