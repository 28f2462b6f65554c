"""Validation and behaviour of the core models: go-lives, sites, units and the escalation directory."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from conftest import CUTOVER
from golive.models import Application, Contact, EscalationTier, GoLive, Site, Unit

CHICAGO = dt.timezone(dt.timedelta(hours=-6))  # CST, for readable instants in November


def messages_of(error: ValidationError) -> list[str]:
    return [message for messages in error.message_dict.values() for message in messages]


def contact(go_live: GoLive, tier: EscalationTier, **fields: object) -> Contact:
    values: dict[str, object] = {"name": "Pharmacy analyst", "phone": "312-555-0199"} | fields
    return Contact(go_live=go_live, tier=tier, **values)


# --- GoLive ---------------------------------------------------------------------------------------


def test_it_refuses_a_window_ending_before_cutover(mercy: GoLive) -> None:
    mercy.support_ends_at = mercy.cutover_at - dt.timedelta(hours=1)
    with pytest.raises(ValidationError) as caught:
        mercy.full_clean()
    assert caught.value.message_dict["support_ends_at"] == [
        "The support window must end after the cutover."
    ]


def test_it_refuses_a_window_ending_at_the_cutover(mercy: GoLive) -> None:
    mercy.support_ends_at = mercy.cutover_at
    with pytest.raises(ValidationError) as caught:
        mercy.full_clean()
    assert "support_ends_at" in caught.value.message_dict


def test_the_database_refuses_a_window_ending_before_cutover_even_bypassing_clean(
    db: None,
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        GoLive.objects.create(
            name="Backwards",
            organization="Mercy Health",
            cutover_at=CUTOVER,
            support_ends_at=CUTOVER - dt.timedelta(days=1),
        )


def test_it_refuses_an_unknown_time_zone(mercy: GoLive) -> None:
    mercy.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as caught:
        mercy.full_clean()
    assert "not a known time zone" in caught.value.message_dict["time_zone"][0]


def test_it_refuses_a_second_go_live_of_the_same_name_in_an_organization(mercy: GoLive) -> None:
    twin = GoLive(
        name=mercy.name,
        organization=mercy.organization,
        cutover_at=CUTOVER,
        support_ends_at=CUTOVER + dt.timedelta(days=3),
    )
    with pytest.raises(ValidationError) as caught:
        twin.full_clean()
    assert any("already exists" in message for message in messages_of(caught.value))


def test_day_number_is_none_before_the_cutover(mercy: GoLive) -> None:
    assert mercy.day_number(CUTOVER - dt.timedelta(minutes=1)) is None


def test_day_number_counts_local_dates_from_the_cutover(mercy: GoLive) -> None:
    # Cutover 05:00 Chicago on 1 November; 23:30 that evening in Chicago is already 2 Nov in UTC.
    assert mercy.day_number(CUTOVER) == 1
    assert mercy.day_number(dt.datetime(2026, 11, 1, 23, 30, tzinfo=CHICAGO)) == 1
    assert mercy.day_number(dt.datetime(2026, 11, 2, 0, 30, tzinfo=CHICAGO)) == 2
    assert mercy.day_number(dt.datetime(2026, 11, 14, 12, 0, tzinfo=CHICAGO)) == 14


# --- Site and Unit --------------------------------------------------------------------------------


def test_it_refuses_two_sites_of_one_name_in_a_go_live(mercy_general: Site) -> None:
    twin = Site(go_live=mercy_general.go_live, name="Mercy General", code="MG2")
    with pytest.raises(ValidationError) as caught:
        twin.full_clean()
    assert any("Name already exists" in message for message in messages_of(caught.value))


def test_it_refuses_two_sites_of_one_code_in_a_go_live(mercy_general: Site) -> None:
    twin = Site(go_live=mercy_general.go_live, name="Mercy West", code="MG")
    with pytest.raises(ValidationError) as caught:
        twin.full_clean()
    assert any("Code already exists" in message for message in messages_of(caught.value))


def test_it_allows_a_site_name_used_by_another_go_live(
    mercy_general: Site, lakeside: GoLive
) -> None:
    Site(go_live=lakeside, name="Mercy General", code="MG").full_clean()


def test_it_refuses_two_units_of_one_name_in_a_site(four_west: Unit) -> None:
    twin = Unit(site=four_west.site, name="4 West Med/Surg")
    with pytest.raises(ValidationError) as caught:
        twin.full_clean()
    assert any("Name already exists" in message for message in messages_of(caught.value))


def test_it_refuses_a_unit_phone_with_letters(four_west: Unit) -> None:
    four_west.phone = "call the desk"
    with pytest.raises(ValidationError) as caught:
        four_west.full_clean()
    assert "phone" in caught.value.message_dict


# --- Escalation tiers -----------------------------------------------------------------------------


def test_it_refuses_a_second_leadership_line(tiers: dict[str, EscalationTier]) -> None:
    second = EscalationTier(
        go_live=tiers["floor"].go_live, level=8, name="Executives", is_leadership=True
    )
    with pytest.raises(ValidationError) as caught:
        second.full_clean()
    assert "This go-live already has a leadership line." in messages_of(caught.value)


def test_the_database_refuses_a_second_leadership_line(tiers: dict[str, EscalationTier]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationTier.objects.create(
            go_live=tiers["floor"].go_live, level=8, name="Executives", is_leadership=True
        )


def test_the_database_refuses_two_tiers_of_one_level(tiers: dict[str, EscalationTier]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationTier.objects.create(go_live=tiers["floor"].go_live, level=1, name="Again")


def test_tiers_list_in_order_with_the_leadership_line_last(
    tiers: dict[str, EscalationTier],
) -> None:
    EscalationTier.objects.create(go_live=tiers["floor"].go_live, level=10, name="Vendor")
    names = list(EscalationTier.objects.values_list("name", flat=True))
    assert names == ["Floor support", "Command center", "Vendor", "Leadership line"]


# --- Contacts -------------------------------------------------------------------------------------


def test_a_daily_window_needs_both_times(mercy: GoLive, tiers: dict[str, EscalationTier]) -> None:
    with pytest.raises(ValidationError) as caught:
        contact(mercy, tiers["floor"], hours=Contact.Hours.DAILY).full_clean()
    assert caught.value.message_dict["window_start"] == ["Give the time the daily window starts."]
    assert caught.value.message_dict["window_end"] == ["Give the time the daily window ends."]


def test_a_daily_window_cannot_start_and_end_at_the_same_time(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    seven = dt.time(7, 0)
    candidate = contact(
        mercy, tiers["floor"], hours=Contact.Hours.DAILY, window_start=seven, window_end=seven
    )
    with pytest.raises(ValidationError) as caught:
        candidate.full_clean()
    assert "Always" in caught.value.message_dict["window_end"][0]


def test_a_vendor_contact_needs_the_vendor_name(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    candidate = contact(mercy, tiers["floor"], employer=Contact.Employer.VENDOR, vendor_name=" ")
    with pytest.raises(ValidationError) as caught:
        candidate.full_clean()
    assert caught.value.message_dict["vendor_name"] == ["Name the vendor this contact works for."]


def test_the_database_refuses_a_vendor_contact_without_a_vendor_name(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        contact(mercy, tiers["floor"], employer=Contact.Employer.VENDOR).save()


def test_a_contact_needs_one_way_to_reach_them(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    with pytest.raises(ValidationError) as caught:
        contact(mercy, tiers["floor"], phone="").full_clean()
    assert "at least one way to reach" in caught.value.message_dict["phone"][0]


def test_an_email_alone_is_a_way_to_reach_a_contact(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    contact(mercy, tiers["floor"], phone="", email="rx@mercy.example").full_clean()


def test_an_sms_number_must_be_international(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    with pytest.raises(ValidationError) as caught:
        contact(mercy, tiers["floor"], sms_number="312-555-0100").full_clean()
    assert "international form" in caught.value.message_dict["sms_number"][0]


def test_a_contact_needs_a_tier_of_its_own_go_live(
    mercy: GoLive, lakeside: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    foreign_tier = EscalationTier.objects.create(go_live=lakeside, level=1, name="Lakeside floor")
    with pytest.raises(ValidationError) as caught:
        contact(mercy, foreign_tier).full_clean()
    assert caught.value.message_dict["tier"] == ["Choose a tier of this go-live."]


def test_a_round_the_clock_contact_is_always_available(help_desk_contact: Contact) -> None:
    assert help_desk_contact.hours_label == "24/7"
    assert help_desk_contact.is_available_at(CUTOVER)
    assert help_desk_contact.is_available_at(CUTOVER + dt.timedelta(hours=12))


def test_a_day_window_covers_the_day_only(mercy: GoLive, tiers: dict[str, EscalationTier]) -> None:
    day = contact(
        mercy,
        tiers["command"],
        hours=Contact.Hours.DAILY,
        window_start=dt.time(7, 0),
        window_end=dt.time(19, 0),
    )
    assert day.hours_label == "07:00–19:00"
    assert day.is_available_at(dt.datetime(2026, 11, 3, 7, 0, tzinfo=CHICAGO))
    assert day.is_available_at(dt.datetime(2026, 11, 3, 18, 59, tzinfo=CHICAGO))
    assert not day.is_available_at(dt.datetime(2026, 11, 3, 19, 0, tzinfo=CHICAGO))
    assert not day.is_available_at(dt.datetime(2026, 11, 3, 6, 59, tzinfo=CHICAGO))


def test_an_overnight_window_covers_the_evening_and_the_early_morning(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    night = contact(
        mercy,
        tiers["command"],
        hours=Contact.Hours.DAILY,
        window_start=dt.time(19, 0),
        window_end=dt.time(7, 0),
    )
    assert night.is_available_at(dt.datetime(2026, 11, 3, 23, 0, tzinfo=CHICAGO))
    assert night.is_available_at(dt.datetime(2026, 11, 4, 3, 0, tzinfo=CHICAGO))
    assert not night.is_available_at(dt.datetime(2026, 11, 4, 7, 0, tzinfo=CHICAGO))
    assert not night.is_available_at(dt.datetime(2026, 11, 4, 12, 0, tzinfo=CHICAGO))


def test_windows_follow_the_go_lives_clock_across_daylight_saving_changes(
    mercy: GoLive, tiers: dict[str, EscalationTier]
) -> None:
    night = contact(
        mercy,
        tiers["command"],
        hours=Contact.Hours.DAILY,
        window_start=dt.time(19, 0),
        window_end=dt.time(7, 0),
    )
    # 8 March 2026, clocks go forward in Chicago at 08:00 UTC: 12:30 UTC is 07:30 local (CDT),
    # not 06:30 as it would be a day earlier.
    assert not night.is_available_at(dt.datetime(2026, 3, 8, 12, 30, tzinfo=dt.UTC))
    assert night.is_available_at(dt.datetime(2026, 3, 7, 12, 30, tzinfo=dt.UTC))
    # 1 November 2026, clocks go back: 12:30 UTC is 06:30 local (CST), inside the window.
    assert night.is_available_at(dt.datetime(2026, 11, 1, 12, 30, tzinfo=dt.UTC))
    assert not night.is_available_at(dt.datetime(2026, 10, 31, 12, 30, tzinfo=dt.UTC))


def test_covering_finds_contacts_for_a_unit_and_an_application(
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    ed: Unit,
    four_west: Unit,
    orders_app: Application,
    help_desk_contact: Contact,
) -> None:
    pharmacy = Application.objects.create(go_live=mercy, name="Pharmacy / eMAR")
    floor_four_west = contact(mercy, tiers["floor"], name="4 West super user", all_units=False)
    floor_four_west.save()
    floor_four_west.units.add(four_west)
    orders_analyst = contact(mercy, tiers["command"], name="Orders analyst", all_applications=False)
    orders_analyst.save()
    orders_analyst.applications.add(orders_app, pharmacy)
    retired = contact(mercy, tiers["floor"], name="Retired line", is_active=False)
    retired.save()

    def names(unit: Unit | None = None, application: Application | None = None) -> set[str]:
        covering = Contact.objects.covering(unit=unit, application=application)
        return set(covering.values_list("name", flat=True))

    assert names(unit=four_west) == {"Mercy help desk", "4 West super user", "Orders analyst"}
    assert names(unit=ed) == {"Mercy help desk", "Orders analyst"}
    assert names(application=orders_app) == {
        "Mercy help desk",
        "4 West super user",
        "Orders analyst",
    }
    assert names(unit=ed, application=pharmacy) == {"Mercy help desk", "Orders analyst"}
    # Units left picked on a contact that covers all of them do not list it twice.
    help_desk_contact.units.add(ed, four_west)
    assert Contact.objects.covering(unit=ed).count() == 2
