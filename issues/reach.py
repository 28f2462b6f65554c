"""Whom to reach now for an issue on a unit, tier by tier: the people on shift and the directory's
contacts, resolved at the moment they are needed.

Escalation notifies a tier's people through this, and "who do I call" shows the same lists to floor
staff, so both always agree. A tier's people are those on shift now in the tier's support roles
(its routing rule, `assignment.roles_by_tier`) who know the issue's application, if it names one;
nearest first: on the unit, then elsewhere on its site, then anywhere in the go-live. Its contacts
are the directory's for that tier who cover the unit and the application and whose hours cover
now. A tier with neither is unreachable: escalation moves on to the next tier.

The leadership line is not a tier to call from the floor; it is told of patient-safety issues by
the intake itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef

from golive.models import Contact, EscalationTier, GoLive, Unit
from issues.assignment import roles_by_tier
from issues.models import EscalationPath, EscalationStep, Priority
from staffing.whos_on import OnShift, on_shift

# "Who do I call" lists everyone on the unit and this many more of each tier, nearest first.
CALL_OTHERS = 3


@dataclass(frozen=True)
class TierReach:
    tier: EscalationTier
    people: list[OnShift]
    contacts: list[Contact]

    @property
    def reachable(self) -> bool:
        return bool(self.people or self.contacts)


def reach_by_tier(
    *, go_live: GoLive, unit: Unit, application_id: int | None, at: dt.datetime
) -> list[TierReach]:
    """Every tier of the go-live but the leadership line, first line first, with whom to reach
    now. A constant number of queries, however many tiers, people and contacts."""
    return Reach(go_live=go_live, at=at).by_tier(unit=unit, application_id=application_id)


class Reach:
    """`reach_by_tier` for any number of units and applications at one instant, as the
    escalation sweep needs it: the tiers and their roles, the people on shift in those roles and
    the tiers' contacts are read once, and each unit and application is a filter and a sort."""

    def __init__(self, *, go_live: GoLive, at: dt.datetime) -> None:
        self.go_live = go_live
        self.at = at
        self.tiers = list(EscalationTier.objects.filter(go_live=go_live, is_leadership=False))
        self.roles = roles_by_tier(go_live, self.tiers)
        wanted = {role for tier_roles in self.roles.values() for role in tier_roles}
        self.people = on_shift(go_live=go_live, at=at, roles=wanted) if wanted else []
        units = Contact.units.through.objects.filter(contact_id=OuterRef("pk"))
        applications = Contact.applications.through.objects.filter(contact_id=OuterRef("pk"))
        self.contacts = [
            contact
            for contact in Contact.objects.filter(go_live=go_live, tier__in=self.tiers)
            .covering()
            .annotate(
                unit_ids=ArraySubquery(units.values("unit_id")),
                application_ids=ArraySubquery(applications.values("application_id")),
            )
            .order_by("name")
            if _available(contact, go_live, at)
        ]
        self._by_tier: dict[tuple[int, int | None], list[TierReach]] = {}

    def by_tier(self, *, unit: Unit, application_id: int | None) -> list[TierReach]:
        key = (unit.pk, application_id)
        if key not in self._by_tier:
            self._by_tier[key] = self._tiers_for(unit, application_id)
        return self._by_tier[key]

    def _tiers_for(self, unit: Unit, application_id: int | None) -> list[TierReach]:
        # What on_shift(applications=...) and ContactQuerySet.covering(unit=, application=) keep,
        # on the rows read once: the person knows the application or is on a shift staffed for
        # it; the contact covers all units or this one, and all applications or this one.
        people = [
            entry
            for entry in self.people
            if application_id is None
            or application_id in entry.person.skill_ids
            or entry.shift.application_id == application_id
        ]
        people.sort(key=lambda entry: _distance(entry, unit))
        contacts = [
            contact
            for contact in self.contacts
            if (contact.all_units or unit.pk in contact.unit_ids)  # type: ignore[attr-defined]
            and (
                application_id is None
                or contact.all_applications
                or application_id in contact.application_ids  # type: ignore[attr-defined]
            )
        ]
        return [
            TierReach(
                tier=tier,
                people=[entry for entry in people if entry.person.role in self.roles[tier.pk]],
                contacts=[contact for contact in contacts if contact.tier_id == tier.pk],
            )
            for tier in self.tiers
        ]


def call_list(
    *, go_live: GoLive, unit: Unit, category_id: int | None, at: dt.datetime
) -> list[TierReach]:
    """ "Who do I call now" for a kind of problem on a unit: `reach_by_tier`, the tiers in the
    order the P1 escalation path for it names them (calling is for what cannot wait), then the
    others, first line first."""
    rows = reach_by_tier(go_live=go_live, unit=unit, application_id=None, at=at)
    # The path comes with its steps' tiers, in order, as an array: one query instead of two.
    steps = EscalationStep.objects.filter(path=OuterRef("pk")).order_by("position")
    path = EscalationPath.objects.annotate(
        tier_ids=ArraySubquery(steps.values("tier_id"))
    ).applying_to(
        go_live_id=go_live.pk,
        priority=Priority.P1,
        category_id=category_id,
        application_id=None,
        site_id=unit.site_id,
    )
    named: list[int | None] = [] if path is None else path.tier_ids  # type: ignore[attr-defined]
    first: dict[int, int] = {}
    for index, tier_id in enumerate(named):
        if tier_id is not None:
            first.setdefault(tier_id, index)
    ordered = sorted(
        rows,
        key=lambda row: (0, first[row.tier.pk]) if row.tier.pk in first else (1, row.tier.level),
    )
    # Everyone on the unit, and only the few nearest of the rest: a list to call from, not a roster.
    return [
        TierReach(tier=row.tier, people=_nearest(row.people, unit), contacts=row.contacts)
        for row in ordered
    ]


def _nearest(people: list[OnShift], unit: Unit) -> list[OnShift]:
    here = [entry for entry in people if entry.unit.id == unit.pk]
    return here + [entry for entry in people if entry.unit.id != unit.pk][:CALL_OTHERS]


def _distance(entry: OnShift, unit: Unit) -> tuple[int, str]:
    """On the unit first, then on its site, then elsewhere; by name within each."""
    if entry.unit.id == unit.pk:
        return 0, entry.person.name
    if entry.site.id == unit.site_id:
        return 1, entry.person.name
    return 2, entry.person.name


def _available(contact: Contact, go_live: GoLive, at: dt.datetime) -> bool:
    contact.go_live = go_live  # its hours are read in the go-live's zone, without a query
    return contact.is_available_at(at)
