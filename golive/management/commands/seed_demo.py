"""`manage.py seed_demo`: a realistic demo go-live that a new user can sign in to at once.

Idempotent: every row is found by its natural key and updated, so running it again duplicates
nothing. The cutover is set only when the go-live is first created, so the demo keeps its day
count across re-runs.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from golive.models import Application, Contact, EscalationTier, GoLive, Membership, Role, Site, Unit
from golive.services import set_up_go_live

DEFAULT_PASSWORD = "golive-demo"
TIME_ZONE = "America/Chicago"
ORGANIZATION = "Riverside Health"
GO_LIVE_NAME = "Riverside Health — EHR Wave 1"
SUPPORT_DAYS = 28
HOSPITAL = "Riverside Medical Center"
CLINIC = "Riverside Family Clinic"

SITES: list[dict[str, str]] = [
    {
        "name": HOSPITAL,
        "code": "RMC",
        "kind": Site.Kind.HOSPITAL,
        "address_line": "1200 River Road",
        "city": "Chicago",
        "region": "IL",
        "postal_code": "60607",
        "phone": "312-555-0200",
    },
    {
        "name": CLINIC,
        "code": "RFC",
        "kind": Site.Kind.CLINIC,
        "address_line": "48 Elm Street",
        "city": "Oak Park",
        "region": "IL",
        "postal_code": "60302",
        "phone": "708-555-0300",
    },
]

# (site, unit, kind, end users going live, phone)
UNITS: list[tuple[str, str, str, int, str]] = [
    (HOSPITAL, "Emergency Department", Unit.Kind.INPATIENT, 140, "312-555-0211"),
    (HOSPITAL, "ICU", Unit.Kind.INPATIENT, 85, "312-555-0212"),
    (HOSPITAL, "4 West Med/Surg", Unit.Kind.INPATIENT, 64, "312-555-0214"),
    (HOSPITAL, "5 East Cardiac", Unit.Kind.INPATIENT, 58, "312-555-0215"),
    (HOSPITAL, "Labor & Delivery", Unit.Kind.INPATIENT, 46, "312-555-0216"),
    (HOSPITAL, "Operating Rooms", Unit.Kind.INPATIENT, 110, "312-555-0217"),
    (HOSPITAL, "Pharmacy", Unit.Kind.ANCILLARY, 38, "312-555-0221"),
    (HOSPITAL, "Laboratory", Unit.Kind.ANCILLARY, 52, "312-555-0222"),
    (HOSPITAL, "Radiology", Unit.Kind.ANCILLARY, 44, "312-555-0223"),
    (HOSPITAL, "Registration / Patient Access", Unit.Kind.SUPPORT, 36, "312-555-0224"),
    (CLINIC, "Front Desk", Unit.Kind.AMBULATORY, 9, "708-555-0311"),
    (CLINIC, "Exam Rooms", Unit.Kind.AMBULATORY, 22, "708-555-0312"),
]

INPATIENT_UNITS = ["Emergency Department", "ICU", "4 West Med/Surg", "5 East Cardiac"]


@dataclass(frozen=True)
class DemoContact:
    name: str
    level: int
    title: str
    kind: str = Contact.Kind.PERSON
    phone: str = ""
    pager: str = ""
    sms_number: str = ""
    email: str = ""
    vendor_name: str = ""
    window: tuple[int, int] | None = None
    applications: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    notes: str = ""


TEAM = Contact.Kind.TEAM
CONTACTS: list[DemoContact] = [
    # Tier 1: floor support and help desk
    DemoContact(
        "Riverside IT Service Desk",
        1,
        "Go-live help desk, all calls logged",
        kind=TEAM,
        phone="312-555-0110",
        email="servicedesk@riverside.example",
    ),
    DemoContact(
        "Nursing super users — days",
        1,
        "Super-user pool, inpatient nursing",
        kind=TEAM,
        phone="312-555-0121",
        sms_number="+13125550121",
        window=(7, 19),
        units=[*INPATIENT_UNITS, "Labor & Delivery"],
    ),
    DemoContact(
        "Nursing super users — nights",
        1,
        "Super-user pool, inpatient nursing",
        kind=TEAM,
        phone="312-555-0122",
        sms_number="+13125550122",
        window=(19, 7),
        units=[*INPATIENT_UNITS, "Labor & Delivery"],
    ),
    DemoContact(
        "Perioperative super users",
        1,
        "Super-user pool, OR and anesthesia",
        kind=TEAM,
        phone="312-555-0123",
        window=(6, 18),
        units=["Operating Rooms"],
        applications=["OR / Anesthesia", "Clinical documentation"],
    ),
    DemoContact(
        "Clinic super users",
        1,
        "Super-user pool, ambulatory",
        kind=TEAM,
        phone="708-555-0124",
        sms_number="+17085550124",
        window=(7, 18),
        units=["Front Desk", "Exam Rooms"],
    ),
    # Tier 2: command center and application analysts
    DemoContact(
        "Command center triage desk",
        2,
        "Triage lead on duty",
        kind=TEAM,
        phone="312-555-0100",
        email="commandcenter@riverside.example",
    ),
    DemoContact(
        "Priya Raman",
        2,
        "Application analyst, clinical documentation and orders",
        phone="312-555-0131",
        sms_number="+13125550131",
        email="priya.raman@riverside.example",
        window=(7, 19),
        applications=["Clinical documentation", "Orders"],
    ),
    DemoContact(
        "Marcus Bell",
        2,
        "Application analyst, pharmacy and eMAR",
        phone="312-555-0132",
        pager="312-555-0932",
        email="marcus.bell@riverside.example",
        applications=["Pharmacy / eMAR"],
    ),
    DemoContact(
        "Elena Sokolova",
        2,
        "Application analyst, registration and scheduling",
        phone="312-555-0133",
        sms_number="+13125550133",
        email="elena.sokolova@riverside.example",
        window=(6, 20),
        applications=["ADT / Registration", "Scheduling"],
    ),
    DemoContact(
        "Tomás Herrera",
        2,
        "Application analyst, lab and radiology",
        phone="312-555-0134",
        email="tomas.herrera@riverside.example",
        applications=["Lab", "Radiology"],
        units=["Laboratory", "Radiology"],
    ),
    DemoContact(
        "Grace Okafor",
        2,
        "Application analyst, emergency department",
        phone="312-555-0135",
        pager="312-555-0935",
        email="grace.okafor@riverside.example",
        applications=["ED"],
        units=["Emergency Department"],
    ),
    DemoContact(
        "Revenue cycle analysts",
        2,
        "Charge capture and billing questions",
        kind=TEAM,
        phone="312-555-0136",
        email="revcycle@riverside.example",
        window=(8, 17),
        applications=["Billing"],
    ),
    # Tier 3: build and technical
    DemoContact(
        "Build team on call",
        3,
        "Configuration fixes and build changes",
        kind=TEAM,
        phone="312-555-0141",
        pager="312-555-0941",
        email="build@riverside.example",
    ),
    DemoContact(
        "Interface team",
        3,
        "HL7 interfaces: lab, pharmacy, devices, billing feeds",
        kind=TEAM,
        phone="312-555-0142",
        pager="312-555-0942",
    ),
    DemoContact(
        "Desktop & device support",
        3,
        "Printers, label printers, scanners, badge readers, workstations",
        kind=TEAM,
        phone="312-555-0143",
        sms_number="+13125550143",
    ),
    DemoContact(
        "Access & security team",
        3,
        "Log-in problems, roles and missing access",
        kind=TEAM,
        phone="312-555-0144",
        email="access@riverside.example",
        window=(6, 22),
    ),
    # Tier 4: vendors
    DemoContact(
        "EHR vendor go-live support",
        4,
        "Vendor command center, quote the Riverside customer number",
        kind=TEAM,
        phone="800-555-0150",
        email="golive-support@vendor.example",
        vendor_name="Northwind Clinical Systems",
        notes="Customer number RH-20417.",
    ),
    DemoContact(
        "Dispensing cabinet support",
        4,
        "Automated dispensing cabinets",
        kind=TEAM,
        phone="800-555-0151",
        vendor_name="Lakeshore Dispensing",
        applications=["Pharmacy / eMAR"],
        units=["Pharmacy", *INPATIENT_UNITS],
    ),
    # Leadership line
    DemoContact(
        "Dr. Helen Park",
        9,
        "CMIO",
        phone="312-555-0161",
        pager="312-555-0961",
        sms_number="+13125550161",
        email="helen.park@riverside.example",
    ),
    DemoContact(
        "James Whitaker, RN",
        9,
        "CNO on call",
        phone="312-555-0162",
        sms_number="+13125550162",
        email="james.whitaker@riverside.example",
    ),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    sites: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    superuser: bool = False


USERS: list[DemoUser] = [
    DemoUser("lead", "Dana", "Reyes", Role.COMMAND_CENTER_LEAD),
    DemoUser("manager", "Maria", "Chen", Role.CLINIC_MANAGER, sites=[HOSPITAL]),
    DemoUser("agent", "Alex", "Novak", Role.HELP_DESK_AGENT),
    DemoUser("support", "Sam", "Patel", Role.SUPPORT_STAFF),
    DemoUser("floor", "Nina", "Brooks", Role.FLOOR_STAFF, units=["4 West Med/Surg"]),
    DemoUser("admin", "Avery", "Admin", Role.COMMAND_CENTER_LEAD, superuser=True),
]


def demo_cutover(now: dt.datetime) -> dt.datetime:
    """05:00 local, two days before today: the demo opens on day 3 of the go-live."""
    tz = zoneinfo.ZoneInfo(TIME_ZONE)
    today = timezone.localdate(now, tz)
    return dt.datetime.combine(today - dt.timedelta(days=2), dt.time(5), tzinfo=tz)


class Command(BaseCommand):
    help = (
        "Create (or bring up to date) the Riverside Health demo go-live: two sites, 12 units, the "
        "escalation tiers, about 20 contacts and one user per role. Safe to run again. Every demo "
        f"user (lead, manager, agent, support, floor, admin) gets the password given by "
        f"--password, by default “{DEFAULT_PASSWORD}”."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password of every demo user (default: {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when the database holds no go-live at all (used by `make run`).",
        )

    def handle(self, *args: Any, password: str, if_empty: bool, **options: Any) -> None:
        if if_empty and GoLive.objects.exists():
            self.stdout.write("The database already holds a go-live: nothing seeded.")
        else:
            go_live = self.seed(password)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo go-live ready: {go_live.name} ({go_live.sites.count()} sites, "
                    f"{Unit.objects.filter(site__go_live=go_live).count()} units, "
                    f"{go_live.contacts.count()} contacts)."
                )
            )
        self.print_logins(password)

    @transaction.atomic
    def seed(self, password: str) -> GoLive:
        cutover = demo_cutover(timezone.now())
        details = {
            "time_zone": TIME_ZONE,
            "phase": GoLive.Phase.LIVE,
            "command_center_phone": "312-555-0100",
            "command_center_location": f"{HOSPITAL}, 2nd floor, conference room B",
        }
        go_live, _ = GoLive.objects.update_or_create(
            organization=ORGANIZATION,
            name=GO_LIVE_NAME,
            defaults=details,
            # The day count must not move on re-runs: the dates are set only on creation.
            create_defaults={
                **details,
                "cutover_at": cutover,
                "support_ends_at": cutover + dt.timedelta(days=SUPPORT_DAYS),
            },
        )
        sites = {
            spec["name"]: Site.objects.update_or_create(
                go_live=go_live, name=spec["name"], defaults=spec
            )[0]
            for spec in SITES
        }
        units = {
            name: Unit.objects.update_or_create(
                site=sites[site],
                name=name,
                defaults={"kind": kind, "end_user_count": end_users, "phone": phone},
            )[0]
            for site, name, kind, end_users, phone in UNITS
        }
        set_up_go_live(go_live=go_live)
        tiers = {tier.level: tier for tier in go_live.tiers.all()}
        applications = {app.name: app for app in Application.objects.filter(go_live=go_live)}
        for spec in CONTACTS:
            self.seed_contact(go_live, spec, tiers, applications, units)
        for spec in USERS:
            self.seed_user(go_live, spec, password, sites, units)
        return go_live

    def seed_contact(
        self,
        go_live: GoLive,
        spec: DemoContact,
        tiers: dict[int, EscalationTier],
        applications: dict[str, Application],
        units: dict[str, Unit],
    ) -> None:
        contact, _ = Contact.objects.update_or_create(
            go_live=go_live,
            name=spec.name,
            defaults={
                "tier": tiers[spec.level],
                "kind": spec.kind,
                "title": spec.title,
                "phone": spec.phone,
                "pager": spec.pager,
                "sms_number": spec.sms_number,
                "email": spec.email,
                "employer": Contact.Employer.VENDOR
                if spec.vendor_name
                else Contact.Employer.IN_HOUSE,
                "vendor_name": spec.vendor_name,
                "all_applications": not spec.applications,
                "all_units": not spec.units,
                "hours": Contact.Hours.DAILY if spec.window else Contact.Hours.ALWAYS,
                "window_start": dt.time(spec.window[0]) if spec.window else None,
                "window_end": dt.time(spec.window[1]) if spec.window else None,
                "notes": spec.notes,
                "is_active": True,
            },
        )
        contact.applications.set([applications[name] for name in spec.applications])
        contact.units.set([units[name] for name in spec.units])

    def seed_user(
        self,
        go_live: GoLive,
        spec: DemoUser,
        password: str,
        sites: dict[str, Site],
        units: dict[str, Unit],
    ) -> None:
        user, _ = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@riverside.example",
                "is_staff": spec.superuser,
                "is_superuser": spec.superuser,
                "is_active": True,
            },
        )
        # A new hash would sign the user out everywhere: only set the password when it changes.
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        membership, _ = Membership.objects.update_or_create(
            user=user, go_live=go_live, defaults={"role": spec.role, "is_active": True}
        )
        membership.sites.set([sites[name] for name in spec.sites])
        membership.units.set([units[name] for name in spec.units])

    def print_logins(self, password: str) -> None:
        existing = set(
            User.objects.filter(username__in=[u.username for u in USERS]).values_list(
                "username", flat=True
            )
        )
        rows = [spec for spec in USERS if spec.username in existing]
        if not rows:
            return
        labels = dict(Role.choices)
        table = [("username", "role", "password")] + [
            (
                spec.username,
                labels[spec.role] + (" + superuser" if spec.superuser else ""),
                password,
            )
            for spec in rows
        ]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        self.stdout.write("\nDemo logins:")
        for i, row in enumerate(table):
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(("  " + "  ".join(cells)).rstrip())
            if i == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
