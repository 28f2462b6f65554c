"""Calendar feeds: a secret iCal URL per person and per unit, parsed back with `icalendar`."""

import datetime as dt

import icalendar
import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Unit
from staffing.feeds import create_share_link, revoke_share_link
from staffing.models import Assignment, ShareLink, Shift, SupportPerson
from staffing.services import assign_person, cancel_assignment
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.tests.test_whos_on import put_on


def feed_link(person: SupportPerson) -> ShareLink:
    return create_share_link(
        go_live=person.go_live, kind=ShareLink.Kind.PERSON_FEED, actor=None, person=person
    )


def unit_link(unit: Unit) -> ShareLink:
    return create_share_link(
        go_live=unit.site.go_live, kind=ShareLink.Kind.UNIT_FEED, actor=None, unit=unit
    )


def fetch(client: Client, link: ShareLink) -> icalendar.Calendar:
    name = (
        "staffing:person_feed" if link.kind == ShareLink.Kind.PERSON_FEED else "staffing:unit_feed"
    )
    response = client.get(reverse(name, args=[link.token]))
    assert response.status_code == 200
    return icalendar.Calendar.from_ical(response.content)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def utc(event: icalendar.Event, name: str) -> dt.datetime:
    value = event.decoded(name)
    assert value.utcoffset() == dt.timedelta(0), f"{name} must be written in UTC"
    return value


# --- A person's feed ------------------------------------------------------------------------------


def test_a_person_s_feed_lists_their_shifts_with_stable_uids(
    client: Client, sam: SupportPerson, day_shift: Shift, night_shift: Shift, lead_lena: User
) -> None:
    night = assign_person(shift=night_shift, person=sam, actor=lead_lena)
    day = put_on(day_shift, sam, status=Assignment.Status.CONFIRMED)
    link = feed_link(sam)

    response = client.get(reverse("staffing:person_feed", args=[link.token]))
    calendar = icalendar.Calendar.from_ical(response.content)
    found = events(calendar)

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sam-super-shifts.ics"'
    assert response["Cache-Control"] == "no-store"
    assert str(calendar["X-WR-CALNAME"]) == "Sam Super · golive shifts"
    assert str(calendar["X-WR-TIMEZONE"]) == "America/Chicago"
    assert list(found) == [f"assignment-{night.pk}@golive", f"assignment-{day.pk}@golive"]
    tonight = found[f"assignment-{night.pk}@golive"]
    assert str(tonight["SUMMARY"]) == "4 West Med/Surg — Super user"
    assert str(tonight["LOCATION"]) == "Mercy General · 4 West Med/Surg"
    assert str(tonight["STATUS"]) == "CONFIRMED"
    assert tonight["SEQUENCE"] == 0
    assert utc(tonight, "DTSTART") == night_shift.start
    assert utc(tonight, "DTEND") == night_shift.end
    assert utc(tonight, "DTSTAMP") == local(3, 6)
    # The assignment's event row says when it last changed.
    assert utc(tonight, "LAST-MODIFIED") == night.events.get().at
    assert "Command center: 312-555-0100" in str(tonight["DESCRIPTION"])
    # The same feed fetched again names the same events.
    assert list(events(fetch(client, link))) == list(found)


def test_a_cancelled_shift_stays_in_the_feed_as_cancelled_with_a_higher_sequence(
    client: Client, sam: SupportPerson, day_shift: Shift, lead_lena: User
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)
    link = feed_link(sam)
    before = events(fetch(client, link))[f"assignment-{assignment.pk}@golive"]

    cancel_assignment(assignment=assignment, actor=lead_lena, reason="Unit closed")
    after = events(fetch(client, link))[f"assignment-{assignment.pk}@golive"]

    assert str(before["STATUS"]) == "CONFIRMED"
    assert str(after["STATUS"]) == "CANCELLED"
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert str(after["SUMMARY"]).startswith("Cancelled: ")


def test_the_feed_keeps_thirty_days_of_history_and_only_the_person_s_own_shifts(
    client: Client,
    sam: SupportPerson,
    vera: SupportPerson,
    make_shift: MakeShift,
    day_shift: Shift,
) -> None:
    old = put_on(make_shift(local(2, 7, month=10), local(2, 19, month=10)), sam)
    recent = put_on(make_shift(local(5, 7, month=10), local(5, 19, month=10)), sam)
    put_on(day_shift, vera)

    found = events(fetch(client, feed_link(sam)))

    assert list(found) == [f"assignment-{recent.pk}@golive"]
    assert f"assignment-{old.pk}@golive" not in found


def test_times_stay_true_across_both_dst_changes(
    client: Client, sam: SupportPerson, make_shift: MakeShift, now: dt.datetime
) -> None:
    # Summer time ends at 02:00 on Sunday 1 November 2026 and starts at 02:00 on 14 March 2027.
    fall = put_on(make_shift(local(31, 19, month=10), local(1, 7)), sam)
    spring_start = dt.datetime(2027, 3, 13, 19, tzinfo=local(1, 0).tzinfo)
    spring_end = dt.datetime(2027, 3, 14, 7, tzinfo=local(1, 0).tzinfo)
    spring = put_on(make_shift(spring_start, spring_end), sam)

    found = events(fetch(client, feed_link(sam)))
    autumn_night = found[f"assignment-{fall.pk}@golive"]
    spring_night = found[f"assignment-{spring.pk}@golive"]

    # 19:00 CDT is 00:00 UTC; 07:00 CST is 13:00 UTC: a 13-hour night.
    assert utc(autumn_night, "DTSTART") == dt.datetime(2026, 11, 1, 0, tzinfo=dt.UTC)
    assert utc(autumn_night, "DTEND") == dt.datetime(2026, 11, 1, 13, tzinfo=dt.UTC)
    assert "13 h" in str(autumn_night["DESCRIPTION"])
    # 19:00 CST is 01:00 UTC; 07:00 CDT is 12:00 UTC: an 11-hour night.
    assert utc(spring_night, "DTSTART") == dt.datetime(2027, 3, 14, 1, tzinfo=dt.UTC)
    assert utc(spring_night, "DTEND") == dt.datetime(2027, 3, 14, 12, tzinfo=dt.UTC)
    assert "11 h" in str(spring_night["DESCRIPTION"])


# --- A unit's feed --------------------------------------------------------------------------------


def test_a_unit_s_feed_shows_each_shift_with_its_people_and_phones(
    client: Client,
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    day_shift: Shift,
    night_shift: Shift,
    four_west: Unit,
    ed: Unit,
    make_shift: MakeShift,
) -> None:
    put_on(day_shift, sam)
    put_on(day_shift, vera)
    put_on(night_shift, make_person("Gone Gary"), status=Assignment.Status.CANCELLED)
    make_shift(local(4, 7), local(4, 19), unit=ed)
    Shift.objects.filter(pk=night_shift.pk).update(sequence=3)
    link = unit_link(four_west)

    response = client.get(reverse("staffing:unit_feed", args=[link.token]))
    calendar = icalendar.Calendar.from_ical(response.content)
    found = events(calendar)

    assert response["Content-Disposition"] == 'attachment; filename="mg-4-west-medsurg-shifts.ics"'
    assert str(calendar["X-WR-CALNAME"]) == "Mercy General · 4 West Med/Surg · golive shifts"
    assert list(found) == [f"shift-{night_shift.pk}@golive", f"shift-{day_shift.pk}@golive"]
    day = found[f"shift-{day_shift.pk}@golive"]
    night = found[f"shift-{night_shift.pk}@golive"]
    assert str(day["SUMMARY"]) == "4 West Med/Surg — Super user (2/2)"
    assert str(day["DESCRIPTION"]).splitlines()[:2] == [
        "Sam Super — 312-555-0190",
        "Vera Vendor — no phone on the roster",
    ]
    assert str(night["SUMMARY"]) == "4 West Med/Surg — Super user (0/1)"
    assert "Open places: 1" in str(night["DESCRIPTION"])
    assert "Gone Gary" not in str(night["DESCRIPTION"])
    assert night["SEQUENCE"] == 3
    assert utc(day, "DTSTART") == day_shift.start


def test_a_revoked_or_unknown_feed_token_is_a_404_and_kinds_do_not_mix(
    client: Client, sam: SupportPerson, four_west: Unit
) -> None:
    person = feed_link(sam)
    unit = unit_link(four_west)
    revoked = feed_link(sam)
    revoke_share_link(link=revoked)

    answers = [
        client.get(reverse("staffing:person_feed", args=[revoked.token])),
        client.get(reverse("staffing:person_feed", args=["no-such-token"])),
        client.get(reverse("staffing:person_feed", args=[unit.token])),
        client.get(reverse("staffing:unit_feed", args=[person.token])),
    ]

    for response in answers:
        assert response.status_code == 404
        assert "revoked or never existed" in response.content.decode()
        assert response["Cache-Control"] == "no-store"
    assert client.get(reverse("staffing:person_feed", args=[person.token])).status_code == 200


def test_revoking_stops_a_feed_at_once_and_a_second_revoke_changes_nothing(
    client: Client, sam: SupportPerson, now: dt.datetime
) -> None:
    link = feed_link(sam)
    assert fetch(client, link)

    with time_machine.travel(local(3, 9), tick=False):
        assert revoke_share_link(link=link)
    assert not revoke_share_link(link=link)

    link.refresh_from_db()
    assert link.revoked_at == local(3, 9)
    assert client.get(reverse("staffing:person_feed", args=[link.token])).status_code == 404


@pytest.mark.parametrize("shifts", [3, 40])
def test_feeds_cost_the_same_queries_however_many_shifts(
    shifts: int,
    client: Client,
    sam: SupportPerson,
    vera: SupportPerson,
    make_shift: MakeShift,
    four_west: Unit,
    mercy: GoLive,
    now: dt.datetime,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for day in range(shifts):
        start = local(4, 7) + dt.timedelta(days=day)
        shift = make_shift(start, start + dt.timedelta(hours=12), needed=2)
        put_on(shift, sam)
        put_on(shift, vera)
    person, unit = feed_link(sam), unit_link(four_west)

    with django_assert_max_num_queries(2):
        person_feed = fetch(client, person)
    with django_assert_max_num_queries(3):
        unit_feed = fetch(client, unit)

    assert len(events(person_feed)) == len(events(unit_feed)) == shifts
