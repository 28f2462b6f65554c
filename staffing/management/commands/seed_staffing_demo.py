"""`manage.py seed_staffing_demo`: a support roster and a schedule for the demo go-live.

Runs after `seed_demo` (the core cannot import staffing, so the staffing part of the demo lives
here). Idempotent: people are matched by email, requirements by unit, role and block, shifts by
requirement and start; people are scheduled only while the demo has no assignment at all, so a
second run changes nothing a manager did in the demo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from golive.management.commands.seed_demo import GO_LIVE_NAME, HOSPITAL, ORGANIZATION
from golive.models import Application, GoLive, Notification, Unit
from staffing.coverage import BUSINESS_HOURS, DAY_NIGHT, Block, generate_shifts, support_window
from staffing.models import (
    Assignment,
    CoverageRequirement,
    Shift,
    StaffingSettings,
    SupportPerson,
    SupportRole,
)
from staffing.rules import load_people, rank_candidates
from staffing.services import AssignmentRefused, NeedsOverride, assign_person

# Planned days ahead (from today): the rest of the window stays open, as it would be mid-plan.
PLANNED_DAYS = 5
# Places left open on purpose in the planned days, so the grid shows gaps to fill.
UNFILLED_UNITS = {"Emergency Department", "Laboratory"}

# fmt: off
FIRST_NAMES = [
    "Aisha", "Ben", "Carla", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jamal",
    "Kara", "Luis", "Mei", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe", "Amir", "Bella", "Chidi", "Dara",
    "Emil", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Milo", "Nadia",
    "Omar", "Paula", "Raj", "Sara", "Tomas", "Uma", "Victor", "Wanda",
]
LAST_NAMES = [
    "Adams", "Bakker", "Costa", "Diallo", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kim", "Lopez", "Moreau", "Nowak", "Okafor", "Park", "Quintero", "Rossi",
    "Singh", "Tanaka", "Ueda", "Varga", "Walsh", "Xu",
]
# fmt: on


@dataclass(frozen=True)
class UnitPlan:
    unit: str
    blocks: tuple[Block, ...]
    headcount: int
    role: str = SupportRole.SUPER_USER


PLANS = [
    UnitPlan("Emergency Department", DAY_NIGHT, 2),
    UnitPlan("ICU", DAY_NIGHT, 2),
    UnitPlan("4 West Med/Surg", DAY_NIGHT, 1),
    UnitPlan("5 East Cardiac", DAY_NIGHT, 1),
    UnitPlan("Labor & Delivery", DAY_NIGHT, 1),
    UnitPlan("Operating Rooms", (DAY_NIGHT[0],), 2, SupportRole.AT_THE_ELBOW),
    UnitPlan("Pharmacy", DAY_NIGHT, 1, SupportRole.ANALYST),
    UnitPlan("Laboratory", (DAY_NIGHT[0],), 1, SupportRole.ANALYST),
    UnitPlan("Radiology", (DAY_NIGHT[0],), 1),
    UnitPlan("Registration / Patient Access", DAY_NIGHT, 1),
    UnitPlan("Front Desk", BUSINESS_HOURS, 1),
    UnitPlan("Exam Rooms", BUSINESS_HOURS, 1),
]

# (role, how many, employer vendor name or "") — the roster's shape.
ROSTER_SHAPE = [
    (SupportRole.SUPER_USER, 30, ""),
    (SupportRole.AT_THE_ELBOW, 6, "Northwind Clinical Systems"),
    (SupportRole.ANALYST, 5, ""),
    (SupportRole.NURSE_CHAMPION, 2, ""),
    (SupportRole.PHYSICIAN_CHAMPION, 1, ""),
    (SupportRole.TECHNICAL, 2, ""),
]

SUPPORT_USER = "support"


class Command(BaseCommand):
    help = "Seed the demo go-live's support roster, coverage requirements and schedule."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when the demo go-live has no support roster yet (first start).",
        )

    def handle(self, *args: Any, if_empty: bool, **options: Any) -> None:
        go_live = GoLive.objects.filter(organization=ORGANIZATION, name=GO_LIVE_NAME).first()
        if go_live is None:
            if if_empty:
                return
            raise CommandError("Run `manage.py seed_demo` first: the demo go-live does not exist.")
        if if_empty and go_live.support_people.exists():
            self.stdout.write("The demo go-live has a roster already: nothing seeded.")
            return
        seeded_from = timezone.now()
        with transaction.atomic():
            people = self.seed_roster(go_live)
            requirements = self.seed_requirements(go_live)
            first, last = support_window(go_live)
            generate_shifts(
                go_live=go_live,
                requirements=requirements,
                first_date=first,
                last_date=last,
                actor=None,
            )
        scheduled = 0
        if not Assignment.objects.filter(shift__go_live=go_live).exists():
            scheduled = self.schedule(go_live, people)
            # The demo's schedule stands for one published before today: its "you are on shift"
            # messages count as delivered then, so the first start does not print ~200 emails.
            Notification.objects.filter(
                go_live=go_live, created_at__gte=seeded_from, status=Notification.Status.PENDING
            ).update(status=Notification.Status.SENT, sent_at=timezone.now())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo staffing ready: {len(people)} people, {len(requirements)} requirements, "
                f"{Shift.objects.filter(go_live=go_live).count()} shifts"
                + (f", {scheduled} places scheduled." if scheduled else ".")
            )
        )

    def seed_roster(self, go_live: GoLive) -> list[SupportPerson]:
        units = {unit.name: unit for unit in Unit.objects.filter(site__go_live=go_live)}
        applications = list(Application.objects.filter(go_live=go_live).order_by("name"))
        unit_names = [plan.unit for plan in PLANS]
        people = []
        number = 0
        for role, count, vendor in ROSTER_SHAPE:
            for _ in range(count):
                first = FIRST_NAMES[number % len(FIRST_NAMES)]
                last = LAST_NAMES[(number * 7) % len(LAST_NAMES)]
                home = units[unit_names[number % len(unit_names)]]
                person, _ = SupportPerson.objects.update_or_create(
                    go_live=go_live,
                    email=f"{first}.{last}@riverside.example".lower(),
                    defaults={
                        "name": f"{first} {last}",
                        "role": role,
                        "employer": SupportPerson.Employer.VENDOR
                        if vendor
                        else SupportPerson.Employer.IN_HOUSE,
                        "vendor_name": vendor,
                        "home_unit": home,
                        "home_site": home.site,
                        "phone": f"312-555-{1000 + number:04d}",
                        "sms_number": f"+1312555{1000 + number:04d}",
                    },
                )
                person.skills.set(
                    [applications[number % len(applications)], applications[(number + 3) % 10]]
                )
                people.append(person)
                number += 1
        # The demo's `support` login is Sam Patel, a super user on 4 West.
        sam, _ = SupportPerson.objects.update_or_create(
            go_live=go_live,
            email="sam.patel@riverside.example",
            defaults={
                "name": "Sam Patel",
                "role": SupportRole.SUPER_USER,
                "home_unit": units["4 West Med/Surg"],
                "home_site": units["4 West Med/Surg"].site,
                "phone": "312-555-0190",
                "sms_number": "+13125550190",
                "user": User.objects.filter(username=SUPPORT_USER).first(),
            },
        )
        return [sam, *people]

    def seed_requirements(self, go_live: GoLive) -> list[CoverageRequirement]:
        units = {unit.name: unit for unit in Unit.objects.filter(site__go_live=go_live)}
        first, last = support_window(go_live)
        requirements = []
        for plan in PLANS:
            for block in plan.blocks:
                requirement, _ = CoverageRequirement.objects.update_or_create(
                    unit=units[plan.unit],
                    role=plan.role,
                    label=block.label,
                    start_time=block.start,
                    defaults={
                        "end_time": block.end,
                        "start_date": first,
                        "end_date": last,
                        "headcount": plan.headcount,
                        "allow_claim": units[plan.unit].site.name == HOSPITAL,
                    },
                )
                requirements.append(requirement)
        return requirements

    def schedule(self, go_live: GoLive, people: list[SupportPerson]) -> int:
        """Fill the next few days from the best-ranked people, leaving some gaps on purpose."""
        today = timezone.localdate(timezone.now(), go_live.tzinfo)
        horizon = dt.datetime.combine(
            today + dt.timedelta(days=PLANNED_DAYS), dt.time(0), go_live.tzinfo
        )
        shifts = list(
            Shift.objects.filter(go_live=go_live, end__gt=timezone.now(), start__lt=horizon)
            .exclude(unit__name__in=UNFILLED_UNITS)
            .select_related("go_live", "unit__site", "application")
            .order_by("start", "unit__name", "pk")
        )
        staffing = StaffingSettings.for_go_live(go_live)
        roster = list(
            SupportPerson.objects.filter(pk__in=[p.pk for p in people]).prefetch_related("skills")
        )
        scheduled = 0
        for shift in shifts:
            loads = load_people([p.pk for p in roster], shift.start, shift.end)
            taken = shift.assignments.count()
            for candidate in rank_candidates(shift, roster, loads, staffing):
                if taken >= shift.needed or candidate.warnings:
                    break
                try:
                    assign_person(shift=shift, person=candidate.person, actor=None)
                except (AssignmentRefused, NeedsOverride):
                    continue
                taken += 1
                scheduled += 1
        return scheduled
