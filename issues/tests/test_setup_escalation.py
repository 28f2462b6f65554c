"""The escalation paths page: every path in plain words, a path's steps edited as one ordered
list and saved together, narrowed paths added and deleted, and every refusal saving nothing."""

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import Application, Contact, EscalationTier, GoLive, Site, Unit
from issues.forms_escalation import NarrowedPathForm, WaitField
from issues.models import AssignmentRule, Category, EscalationPath, EscalationStep, Priority
from issues.tests.test_setup import SignIn, page_messages

LIST = reverse("issues:setup_escalation")
ADD = reverse("issues:setup_escalation_add")
Row = dict[str, Any]

P1_WORDS = [
    "After the response target is missed: at once, tier 1 (Floor support) by in-app, email and "
    "SMS; 10 min later, tier 2 (Command center) by in-app, email and SMS.",
    "After the resolution target is missed: at once, tier 2 (Command center) by email and SMS.",
]


@pytest.fixture
def lena(setup: None, client_for: SignIn, lead_lena: User) -> Client:
    return client_for(lead_lena)


@pytest.fixture
def kim(mercy: GoLive, tiers: dict[str, EscalationTier]) -> Contact:
    return Contact.objects.create(
        go_live=mercy, tier=tiers["command"], name="Kim Lee", sms_number="+13125550142"
    )


def own_path(go_live: GoLive, priority: str = Priority.P1) -> EscalationPath:
    return EscalationPath.objects.get(
        go_live=go_live, priority=priority, category=None, application=None, site=None
    )


def edit_url(path: EscalationPath) -> str:
    return reverse("issues:setup_escalation_path", args=[path.pk])


def rows_of(path: EscalationPath) -> list[Row]:
    """The path's steps as the edit page posts them."""
    return [
        {
            "trigger": step.trigger,
            "wait": "at once" if not step.wait else f"{int(step.wait.total_seconds() // 60)} min",
            "tier": step.tier_id or "",
            "contacts": [contact.pk for contact in step.contacts.all()],
            "channels": step.channels,
        }
        for step in path.steps.all()
    ]


def form_data(rows: list[Row], *, seen: str, do: str = "save") -> dict[str, Any]:
    data: dict[str, Any] = {
        "do": do,
        "seen": seen,
        "step-TOTAL_FORMS": str(len(rows)),
        "step-INITIAL_FORMS": str(len(rows)),
        "step-MIN_NUM_FORMS": "0",
        "step-MAX_NUM_FORMS": "20",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"step-{index}-{name}"] = value
    return data


def post_steps(
    client: Client, path: EscalationPath, rows: list[Row], *, do: str = "save", **headers: str
) -> Any:
    """Opens the path's page (as the lead does, for the version it shows) and posts `rows`."""
    seen = client.get(edit_url(path)).context["seen"]
    return client.post(edit_url(path), form_data(rows, seen=seen, do=do), **headers)


def steps_of(path: EscalationPath) -> list[tuple[object, ...]]:
    return [
        (
            step.position,
            step.trigger,
            step.wait,
            step.tier_id,
            sorted(contact.pk for contact in step.contacts.all()),
            step.channels,
        )
        for step in path.steps.all()
    ]


def snapshot(go_live: GoLive) -> list[tuple[object, ...]]:
    """Every path of the go-live and its steps, to show that a refusal saved nothing."""
    return [
        (
            path.pk,
            path.priority,
            path.category_id,
            path.application_id,
            path.site_id,
            steps_of(path),
        )
        for path in EscalationPath.objects.filter(go_live=go_live).order_by("pk")
    ]


def field_errors(response: Any, index: int, name: str) -> list[str]:
    return list(response.context["steps"].forms[index].errors.get(name, []))


# --- Waits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("at once", 0), ("0", 0), ("0 min", 0), ("AT ONCE", 0), ("10 min", 10), ("1 h 30 min", 90)],
)
def test_a_wait_is_typed_as_people_say_it(typed: str, minutes: int) -> None:
    assert WaitField().clean(typed) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("typed", ["soon", "-5", "-5 min", "31 d", "10 minutes or so"])
def test_a_wait_that_is_not_one_is_refused(typed: str) -> None:
    with pytest.raises(Exception, match="Give a wait such as"):
        WaitField().clean(typed)


# --- The list -------------------------------------------------------------------------------------


def test_the_settings_page_leads_to_the_escalation_paths(lena: Client) -> None:
    page = lena.get(reverse("issues:setup")).content.decode()
    assert f'href="{LIST}"' in page


def test_every_path_is_listed_in_plain_words(
    lena: Client, mercy: GoLive, printing: Category, kim: Contact
) -> None:
    narrowed = EscalationPath.objects.create(go_live=mercy, priority="P2", category=printing)
    step = EscalationStep.objects.create(
        path=narrowed,
        position=1,
        trigger="unresolved",
        wait=dt.timedelta(minutes=30),
        channels=["sms"],
    )
    step.contacts.add(kim)

    response = lena.get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    for line in P1_WORDS:
        assert line in page
    assert "P4 · low" in page
    assert "Every issue of this priority" in page
    assert "Printing / labels" in page
    assert "After the resolution target is missed: after 30 min, Kim Lee by SMS." in page
    assert f'href="{edit_url(narrowed)}"' in page


def test_a_step_whose_tier_nobody_can_be_reached_in_any_more_is_flagged(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    AssignmentRule.objects.filter(tier=tiers["command"]).update(roles=[])

    page = lena.get(LIST).content.decode()

    assert "Step 2: nobody can be reached in Tier 2 · Command center now." in page


def test_the_list_costs_the_same_queries_with_more_paths_and_steps(
    lena: Client,
    mercy: GoLive,
    kim: Contact,
    help_desk_contact: Contact,
    tiers: dict[str, EscalationTier],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    lena.get(LIST)
    counts = []
    for more in (0, 12):
        for n in range(more):
            site = Site.objects.create(go_live=mercy, name=f"Clinic {more}-{n}", code=f"C{more}{n}")
            path = EscalationPath.objects.create(go_live=mercy, priority="P3", site=site)
            for position in (1, 2, 3):
                step = EscalationStep.objects.create(
                    path=path,
                    position=position,
                    trigger="no_response",
                    wait=dt.timedelta(minutes=5 * (position - 1)),
                    tier=tiers["floor"],
                    channels=["email"],
                )
                step.contacts.add(kim, help_desk_contact)
        with django_assert_max_num_queries(15) as captured:
            assert lena.get(LIST).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- Editing a path's steps -----------------------------------------------------------------------


def test_the_edit_page_costs_the_same_queries_with_more_steps_and_contacts(
    lena: Client,
    mercy: GoLive,
    kim: Contact,
    help_desk_contact: Contact,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    path = own_path(mercy)
    lena.get(edit_url(path))
    counts = []
    for more in (0, 10):
        rows = rows_of(path)
        for _ in range(more):
            rows.append(rows[-1] | {"wait": "5 min", "contacts": [kim.pk, help_desk_contact.pk]})
        rows = [row | {"channels": ["email"]} for row in rows]
        assert post_steps(lena, path, rows).status_code == 302
        with django_assert_max_num_queries(12) as captured:
            assert lena.get(edit_url(path)).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_edit_page_shows_the_steps_as_saved(lena: Client, mercy: GoLive) -> None:
    response = lena.get(edit_url(own_path(mercy)))

    assert response.status_code == 200
    page = response.content.decode()
    assert "P1 · critical escalation path" in page
    assert 'name="step-0-wait" value="at once"' in page
    assert 'name="step-1-wait" value="10 min"' in page
    assert "Delete this path" not in page


def test_adding_removing_and_moving_steps_shows_them_again_unsaved(
    lena: Client, mercy: GoLive
) -> None:
    path = own_path(mercy)
    before = snapshot(mercy)
    rows = rows_of(path)

    added = post_steps(lena, path, rows, do="add")
    moved = post_steps(lena, path, rows, do="up-2")
    removed = post_steps(lena, path, rows, do="remove-0")

    assert [r.status_code for r in (added, moved, removed)] == [200, 200, 200]
    assert len(added.context["steps"].forms) == 4
    assert added.context["steps"].forms[3].initial["trigger"] == "unresolved"
    assert [form.initial["trigger"] for form in moved.context["steps"].forms] == [
        "no_response",
        "unresolved",
        "no_response",
    ]
    assert [form.initial["wait"] for form in removed.context["steps"].forms] == [
        "10 min",
        "at once",
    ]
    assert "Some steps need fixing" not in removed.content.decode()
    assert snapshot(mercy) == before


def test_with_htmx_the_steps_come_back_alone(lena: Client, mercy: GoLive) -> None:
    path = own_path(mercy)

    response = post_steps(lena, path, rows_of(path), do="down-0", HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert page.lstrip().startswith('<form method="post"')
    assert 'id="path-steps"' in page
    assert "<html" not in page


def test_the_lead_saves_reordered_and_new_steps_together(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier], kim: Contact
) -> None:
    path = own_path(mercy)
    rows = rows_of(path)
    rows[0], rows[1] = rows[1] | {"wait": "at once"}, rows[0] | {"wait": "5 min"}
    rows.append(
        {
            "trigger": "unresolved",
            "wait": "1 h",
            "tier": "",
            "contacts": [kim.pk],
            "channels": ["email", "sms"],
        }
    )

    response = post_steps(lena, path, rows)

    assert response.status_code == 302
    assert response["Location"] == f"{LIST}#path-{path.pk}"
    steps = list(path.steps.prefetch_related("contacts"))
    assert [(s.position, s.trigger, s.wait, s.tier_id) for s in steps] == [
        (1, "no_response", dt.timedelta(0), tiers["command"].pk),
        (2, "no_response", dt.timedelta(minutes=5), tiers["floor"].pk),
        (3, "unresolved", dt.timedelta(0), tiers["command"].pk),
        (4, "unresolved", dt.timedelta(hours=1), None),
    ]
    assert [contact.name for contact in steps[3].contacts.all()] == ["Kim Lee"]
    follow = lena.get(LIST)
    assert page_messages(follow) == ["The P1 path is saved: 4 steps."]
    assert (
        "After the resolution target is missed: at once, tier 2 (Command center) by email and "
        "SMS; 1 h later, Kim Lee by email and SMS." in follow.content.decode()
    )


def test_the_first_step_of_each_trigger_may_run_at_once_typed_as_zero(
    lena: Client, mercy: GoLive
) -> None:
    path = own_path(mercy, Priority.P4)
    rows = rows_of(path)
    rows[0]["wait"] = "0"
    rows[1]["wait"] = "0 min"

    assert post_steps(lena, path, rows).status_code == 302
    assert [step.wait for step in path.steps.all()] == [dt.timedelta(0), dt.timedelta(0)]


def test_the_save_takes_the_path_row_lock(lena: Client, mercy: GoLive) -> None:
    path = own_path(mercy)
    seen = lena.get(edit_url(path)).context["seen"]

    with CaptureQueriesContext(connection) as queries:
        lena.post(edit_url(path), form_data(rows_of(path), seen=seen))

    locks = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert len(locks) == 1
    assert 'FROM "issues_escalationpath"' in locks[0]


def test_a_save_from_a_copy_older_than_the_saved_path_is_refused(
    lena: Client, mercy: GoLive
) -> None:
    path = own_path(mercy)
    seen = lena.get(edit_url(path)).context["seen"]
    rows = rows_of(path)
    # Another lead saves first: P1's second step now waits 20 minutes.
    other = post_steps(lena, path, [rows[0], rows[1] | {"wait": "20 min"}, rows[2]])
    assert other.status_code == 302
    after_other = snapshot(mercy)

    response = lena.post(edit_url(path), form_data(rows[:2], seen=seen))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Someone else saved this path while you had it open, so nothing was saved." in page
    assert "10 min later" not in page.split("Steps, in order")[0]
    assert "20 min later" in page
    assert len(response.context["steps"].forms) == 2
    assert snapshot(mercy) == after_other
    # Saved again from the page shown, the lead's steps win.
    again = lena.post(edit_url(path), form_data(rows[:2], seen=response.context["seen"]))
    assert again.status_code == 302
    assert path.steps.count() == 2


# --- Refusals: each says what to do next to its field, and nothing is saved ------------------------


def _unreachable_tier(mercy: GoLive) -> EscalationTier:
    tier = EscalationTier.objects.create(go_live=mercy, level=3, name="Vendors")
    AssignmentRule.objects.create(go_live=mercy, tier=tier, roles=[])
    return tier


@pytest.mark.parametrize(
    ("change", "index", "field", "message"),
    [
        ("later_at_once", 1, "wait", "Only the first step of a trigger can run at once."),
        ("negative_wait", 0, "wait", "Give a wait such as “10 min”"),
        ("garbled_wait", 2, "wait", "Give a wait such as “10 min”"),
        ("no_wait", 2, "wait", "Say how long to wait"),
        ("nobody", 1, "tier", "Choose a tier or name at least one contact"),
        ("no_channel", 0, "channels", "Tick at least one way to tell them"),
        ("sms_without_number", 2, "channels", "Mercy help desk has no SMS number: untick SMS"),
        ("unreachable_tier", 1, "tier", "Nobody can be reached in Tier 3 · Vendors"),
        ("their_tier", 0, "tier", "Choose a tier from the list."),
        ("leadership_tier", 0, "tier", "Choose a tier from the list."),
        ("their_contact", 0, "contacts", "Choose contacts from the list."),
        ("inactive_contact", 0, "contacts", "Choose contacts from the list."),
        ("bad_trigger", 0, "trigger", "Choose “Still not acknowledged” or “Still not resolved”."),
        ("bad_channel", 0, "channels", "Choose in the app, email or SMS."),
    ],
)
def test_a_bad_step_refuses_the_whole_path(
    lena: Client,
    mercy: GoLive,
    lakeside: GoLive,
    tiers: dict[str, EscalationTier],
    help_desk_contact: Contact,
    change: str,
    index: int,
    field: str,
    message: str,
) -> None:
    theirs = EscalationTier.objects.create(go_live=lakeside, level=1, name="Lakeside desk")
    their_contact = Contact.objects.create(
        go_live=lakeside, tier=theirs, name="Lakeside desk", email="desk@lakeside.example"
    )
    gone = Contact.objects.create(
        go_live=mercy, tier=tiers["floor"], name="Gone", email="gone@x.example", is_active=False
    )
    path = own_path(mercy)
    rows = rows_of(path)
    changes: dict[str, Row] = {
        "later_at_once": {"wait": "0"},
        "negative_wait": {"wait": "-5 min"},
        "garbled_wait": {"wait": "a bit later"},
        "no_wait": {"wait": ""},
        "nobody": {"tier": "", "contacts": []},
        "no_channel": {"channels": []},
        "sms_without_number": {"contacts": [help_desk_contact.pk]},
        "unreachable_tier": {"tier": _unreachable_tier(mercy).pk},
        "their_tier": {"tier": theirs.pk},
        "leadership_tier": {"tier": tiers["leadership"].pk},
        "their_contact": {"contacts": [their_contact.pk]},
        "inactive_contact": {"contacts": [gone.pk]},
        "bad_trigger": {"trigger": "whenever"},
        "bad_channel": {"channels": ["pager"]},
    }
    rows[index] |= changes[change]
    before = snapshot(mercy)

    response = post_steps(lena, path, rows)

    assert response.status_code == 200
    assert "Some steps need fixing; nothing was saved." in response.content.decode()
    errors = field_errors(response, index, field)
    assert any(message in error for error in errors), errors
    assert snapshot(mercy) == before


def test_the_unreachable_tier_message_says_what_to_do(lena: Client, mercy: GoLive) -> None:
    path = own_path(mercy)
    rows = rows_of(path)
    rows[1]["tier"] = _unreachable_tier(mercy).pk

    response = post_steps(lena, path, rows)

    assert field_errors(response, 1, "tier") == [
        "Nobody can be reached in Tier 3 · Vendors: it has no contacts in the directory and no "
        "support roles under Routing. Add contacts to it in the directory (Who to call), tick "
        "roles for it under Routing, or choose another tier."
    ]


def test_a_tier_with_a_directory_contact_or_a_role_can_be_named(
    lena: Client, mercy: GoLive
) -> None:
    tier = _unreachable_tier(mercy)
    Contact.objects.create(go_live=mercy, tier=tier, name="Epic", email="epic@vendor.example")
    path = own_path(mercy)
    rows = rows_of(path)
    rows[1]["tier"] = tier.pk

    assert post_steps(lena, path, rows).status_code == 302
    assert path.steps.get(position=2).tier == tier


def test_sms_names_everyone_without_a_number(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier], help_desk_contact: Contact
) -> None:
    pager = Contact.objects.create(
        go_live=mercy, tier=tiers["command"], name="On-call analyst", phone="312-555-0199"
    )
    path = own_path(mercy)
    rows = rows_of(path)
    rows[2]["contacts"] = [help_desk_contact.pk, pager.pk]

    response = post_steps(lena, path, rows)

    assert field_errors(response, 2, "channels") == [
        "Mercy help desk and On-call analyst have no SMS number: untick SMS, or add the number "
        "in the directory (Who to call)."
    ]


def test_a_path_without_steps_is_refused(lena: Client, mercy: GoLive) -> None:
    path = own_path(mercy)
    before = snapshot(mercy)

    response = post_steps(lena, path, [])

    assert response.status_code == 200
    assert list(response.context["steps"].non_form_errors()) == [
        "A path needs at least one step: add one, then save."
    ]
    assert snapshot(mercy) == before


def test_more_steps_than_a_path_holds_are_refused(lena: Client, mercy: GoLive) -> None:
    path = own_path(mercy)
    before = snapshot(mercy)
    row = rows_of(path)[1]

    response = post_steps(lena, path, [rows_of(path)[0]] + [row] * 25)

    assert response.status_code == 200
    assert "A path has at most 20 steps: remove one." in response.content.decode()
    assert snapshot(mercy) == before


def test_a_tampered_form_is_refused_not_an_error(lena: Client, mercy: GoLive) -> None:
    path = own_path(mercy)
    before = snapshot(mercy)
    seen = lena.get(edit_url(path)).context["seen"]

    response = lena.post(edit_url(path), {"do": "save", "seen": seen, "step-TOTAL_FORMS": "x"})

    assert response.status_code == 200
    assert "A path needs at least one step" in response.content.decode()
    assert snapshot(mercy) == before


# --- Narrowed paths -------------------------------------------------------------------------------


def test_a_narrowed_path_starts_with_the_priority_path_steps_and_applies(
    lena: Client, mercy: GoLive, printing: Category, orders_app: Application, four_west: Unit
) -> None:
    response = lena.post(
        ADD, {"priority": "P1", "category": printing.pk, "application": orders_app.pk}
    )

    added = EscalationPath.objects.get(go_live=mercy, category=printing)
    assert response.status_code == 302
    assert response["Location"] == edit_url(added)
    assert (added.priority, added.application, added.site) == ("P1", orders_app, None)
    assert steps_of(added) == steps_of(own_path(mercy))
    follow = lena.get(edit_url(added))
    assert page_messages(follow) == [
        "The P1 (Printing / labels · Orders) path is added with the steps of P1's own path: "
        "change them here."
    ]
    assert "Delete this path" in follow.content.decode()
    chosen = EscalationPath.objects.applying_to(
        go_live_id=mercy.pk,
        priority="P1",
        category_id=printing.pk,
        application_id=orders_app.pk,
        site_id=four_west.site_id,
    )
    assert chosen == added


def test_a_narrowed_path_needs_a_new_scope_of_its_own_go_live(
    lena: Client,
    mercy: GoLive,
    lakeside: GoLive,
    mercy_general: Site,
    printing: Category,
) -> None:
    EscalationPath.objects.create(go_live=mercy, priority="P2", site=mercy_general)
    wish = Category.objects.get(go_live=mercy, name="Enhancement request")
    their_site = Site.objects.create(go_live=lakeside, name="Lakeside Main", code="LM")
    their_app = Application.objects.create(go_live=lakeside, name="Lakeside orders")
    their_category = Category.objects.create(go_live=lakeside, name="Printing")
    before = snapshot(mercy)
    for data, message in [
        ({"priority": "P2"}, "Choose a category, an application or a site"),
        ({"priority": "P2", "site": mercy_general.pk}, "There is already a path for this"),
        ({"priority": "P2", "site": their_site.pk}, "Choose a site from the list."),
        ({"priority": "P2", "application": their_app.pk}, "Choose an application from the"),
        ({"priority": "P2", "category": their_category.pk}, "Choose a category from the list."),
        ({"priority": "P2", "category": wish.pk}, "Choose a category from the list."),
        ({"priority": "P9", "category": printing.pk}, "Choose P1, P2, P3 or P4."),
        ({"priority": "P2", "category": "printing"}, "Choose a category from the list."),
    ]:
        response = lena.post(ADD, data)
        assert response.status_code == 200, data
        assert message in response.content.decode(), data
    assert snapshot(mercy) == before


def test_a_scope_added_at_the_same_instant_by_another_lead_is_refused(
    lena: Client, mercy: GoLive, printing: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = NarrowedPathForm.clean

    def another_lead_adds_it_after_the_check(form: NarrowedPathForm) -> dict[str, Any]:
        cleaned = clean(form)
        EscalationPath.objects.create(go_live=mercy, priority="P3", category=printing)
        return cleaned

    monkeypatch.setattr(NarrowedPathForm, "clean", another_lead_adds_it_after_the_check)

    response = lena.post(ADD, {"priority": "P3", "category": printing.pk})

    assert response.status_code == 200
    assert "There is already a path for this priority and scope" in response.content.decode()
    # The other lead's path stands; no second one is made.
    assert EscalationPath.objects.filter(go_live=mercy, category=printing).count() == 1


def test_a_narrowed_path_is_deleted_but_a_priority_keeps_its_own(
    lena: Client, mercy: GoLive, mercy_general: Site
) -> None:
    narrowed = EscalationPath.objects.create(go_live=mercy, priority="P2", site=mercy_general)
    own = own_path(mercy, Priority.P2)

    refused = lena.post(reverse("issues:setup_escalation_delete", args=[own.pk]), follow=True)
    deleted = lena.post(reverse("issues:setup_escalation_delete", args=[narrowed.pk]), follow=True)

    assert page_messages(refused) == ["P2 keeps its own path: change its steps instead."]
    assert EscalationPath.objects.filter(pk=own.pk).exists()
    assert page_messages(deleted) == [
        "The P2 (Mercy General) path is deleted. Its issues follow the next path that fits them, "
        "at least P2's own."
    ]
    assert not EscalationPath.objects.filter(pk=narrowed.pk).exists()


def test_a_get_on_a_change_url_changes_nothing(lena: Client, mercy: GoLive) -> None:
    before = snapshot(mercy)
    assert lena.get(ADD).status_code == 405
    delete = reverse("issues:setup_escalation_delete", args=[own_path(mercy).pk])
    assert lena.get(delete).status_code == 405
    assert snapshot(mercy) == before


def test_names_in_the_plain_words_are_shown_as_text(
    lena: Client, mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    contact = Contact.objects.create(
        go_live=mercy, tier=tiers["floor"], name="<script>x()</script>", email="x@x.example"
    )
    own_path(mercy).steps.get(position=1).contacts.add(contact)

    page = lena.get(LIST).content.decode()

    assert "<script>x()</script>" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page


# --- Who may --------------------------------------------------------------------------------------


def _requests(path: EscalationPath, printing: Category) -> list[tuple[str, str, dict[str, Any]]]:
    rows = rows_of(path)
    return [
        ("get", LIST, {}),
        ("post", ADD, {"priority": "P1", "category": printing.pk}),
        ("get", edit_url(path), {}),
        ("post", edit_url(path), form_data(rows[:1], seen="")),
        ("post", edit_url(path), form_data(rows, seen="", do="add")),
        ("post", reverse("issues:setup_escalation_delete", args=[path.pk]), {}),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(
    setup: None, mercy: GoLive, printing: Category, client: Client
) -> None:
    for method, url, data in _requests(own_path(mercy), printing):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{reverse('login')}?next=")


@pytest.mark.parametrize("who", ["agent_alex", "manager_maria", "super_sam", "nurse_nina"])
def test_only_the_command_center_lead_opens_the_escalation_paths(
    who: str,
    setup: None,
    mercy: GoLive,
    mercy_general: Site,
    printing: Category,
    request: pytest.FixtureRequest,
    client_for: SignIn,
) -> None:
    client = client_for(request.getfixturevalue(who))
    narrowed = EscalationPath.objects.create(go_live=mercy, priority="P2", site=mercy_general)
    before = snapshot(mercy)

    for path in (own_path(mercy), narrowed):
        for method, url, data in _requests(path, printing):
            assert getattr(client, method)(url, data).status_code == 403, (method, url)

    assert snapshot(mercy) == before


def test_the_lead_of_another_go_live_never_reaches_mercy_paths(
    setup: None,
    mercy: GoLive,
    lakeside: GoLive,
    mercy_general: Site,
    printing: Category,
    client_for: SignIn,
    outsider_oscar: User,
) -> None:
    client = client_for(outsider_oscar)
    narrowed = EscalationPath.objects.create(go_live=mercy, priority="P2", site=mercy_general)
    before = snapshot(mercy)

    for path in (own_path(mercy), narrowed):
        for method, url, data in _requests(path, printing)[2:]:
            assert getattr(client, method)(url, data).status_code == 404, (method, url)
    # The list and the add form are his own go-live's: Mercy's paths and categories are not there.
    page = client.get(LIST)
    assert page.status_code == 200
    assert page.context["go_live"] == lakeside
    assert "Mercy General" not in page.content.decode()
    assert "This go-live has no support tiers yet" in page.content.decode()
    refused = client.post(ADD, {"priority": "P1", "category": printing.pk})
    assert "Choose a category from the list." in refused.content.decode()

    assert snapshot(mercy) == before
    assert not EscalationPath.objects.filter(go_live=lakeside).exists()
