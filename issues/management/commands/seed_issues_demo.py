"""`manage.py seed_issues_demo`: a day and a half of issues for the demo go-live.

Runs after `seed_demo` and `seed_staffing_demo`. Every issue goes through the same services as the
tablet and the queue (numbers, priorities, events, notifications); only its clock is then moved
back, so the queue shows ages and overdue items as on a real day 3. Idempotent: it seeds only while
the demo go-live has no issue, so a second run changes nothing anyone did in the demo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from golive.management.commands.seed_demo import GO_LIVE_NAME, ORGANIZATION
from golive.models import Application, GoLive, Notification, Unit
from issues.known import publish_known_issue
from issues.models import Category, Impact, Issue, IssueEvent, KnownIssue, Urgency
from issues.services import (
    add_comment,
    add_reporter,
    change_status,
    claim_issue,
    create_issue,
    ensure_issue_setup,
    link_issue,
)

B, W, Q = Urgency.BLOCKED, Urgency.WORKAROUND, Urgency.QUESTION
ONE, SEV, UNIT = Impact.ONE_USER, Impact.SEVERAL, Impact.UNIT


@dataclass(frozen=True)
class DemoIssue:
    hours_ago: float
    unit: str
    category: str
    title: str
    impact: str
    urgency: str
    description: str = ""
    application: str = ""
    location: str = ""
    # "floor" (the demo's floor login), else a name and callback typed on a unit tablet.
    reporter: str = "floor"
    callback: str = ""
    # What the help desk did: "", "claimed", "waiting_reporter", "waiting_vendor", "resolved".
    outcome: str = ""
    resolution: str = ""
    patient_safety: bool = False
    duplicate_of: int | None = None  # index into ISSUES


ISSUES: list[DemoIssue] = [
    DemoIssue(
        34,
        "4 West Med/Surg",
        "Printing / labels",
        "Specimen labels print blank on the 4W Zebra",
        SEV,
        W,
        "Labels come out blank; the printer test page is fine.",
        "Lab",
        "Nurses' station, printer ZB-4W-02",
        outcome="waiting_vendor",
    ),
    DemoIssue(
        33,
        "ICU",
        "Printing / labels",
        "Specimen labels blank in ICU too",
        SEV,
        W,
        "Same as 4 West: label stock feeds but nothing prints.",
        "Lab",
        "ICU pod B",
        reporter="Ana Ruiz RN",
        callback="x4412",
        duplicate_of=0,
    ),
    DemoIssue(
        30,
        "Emergency Department",
        "Login / access",
        "Cannot log in: account locked after training",
        ONE,
        B,
        "Locked out since 06:00; was fine in the classroom.",
        "ED",
        "Triage 2",
        reporter="Dr. Omar Haddad",
        callback="312-555-0298",
        outcome="resolved",
        resolution="Account unlocked and password reset with the user at the elbow.",
    ),
    DemoIssue(
        28,
        "Pharmacy",
        "Medication / pharmacy / eMAR",
        "Verification queue missing overnight orders",
        UNIT,
        B,
        "Orders entered between 02:00 and 03:00 are not in the queue.",
        "Pharmacy / eMAR",
        reporter="Priya Shah PharmD",
        callback="x2210",
        outcome="resolved",
        resolution="Interface replay of the 02:00-03:00 batch; all 41 orders now in the queue.",
    ),
    DemoIssue(
        26,
        "5 East Cardiac",
        "Hardware / device",
        "Barcode scanner will not pair with WOW-5E-07",
        ONE,
        W,
        "Using the keyboard to enter the barcode meanwhile.",
        "Pharmacy / eMAR",
        "WOW-5E-07",
        outcome="claimed",
    ),
    DemoIssue(
        22,
        "Registration / Patient Access",
        "Registration / scheduling / ADT",
        "Insurance eligibility check times out",
        SEV,
        W,
        "Calling payers by phone meanwhile.",
        "ADT / Registration",
        reporter="Leo Park",
        callback="x3301",
        outcome="waiting_vendor",
    ),
    DemoIssue(
        20,
        "Laboratory",
        "Interfaces",
        "Analyzer results not filing to the chart",
        UNIT,
        B,
        "Chemistry analyzer 2 results stuck since 05:40.",
        "Lab",
        "Chem analyzer 2",
        reporter="Grace Kim MLS",
        callback="x5120",
        outcome="resolved",
        resolution="Interface engine restarted; backlog of 212 results filed.",
    ),
    DemoIssue(
        18,
        "Operating Rooms",
        "Documentation",
        "Anesthesia record does not pull vitals",
        SEV,
        W,
        "Charting by hand on paper downtime forms.",
        "OR / Anesthesia",
        "OR 4",
        reporter="Dr. Ines Costa",
        callback="x6104",
        outcome="claimed",
    ),
    DemoIssue(
        16,
        "Front Desk",
        "Registration / scheduling / ADT",
        "How do I check in a walk-in patient?",
        ONE,
        Q,
        "",
        "Scheduling",
        reporter="Rosa Lopez",
        callback="708-555-0311",
        outcome="resolved",
        resolution="Walked through the walk-in check-in tip sheet at the desk.",
    ),
    DemoIssue(
        14,
        "ICU",
        "Orders / results",
        "Heparin order set missing the weight-based protocol",
        UNIT,
        W,
        "Ordering the protocol line by line.",
        "Orders",
        outcome="waiting_vendor",
    ),
    DemoIssue(
        12,
        "Emergency Department",
        "Performance / downtime",
        "Tracking board slow to refresh",
        UNIT,
        W,
        "Board takes 40 s to update after a bed change.",
        "ED",
        reporter="Charge RN Femi Okafor",
        callback="x4400",
    ),
    DemoIssue(
        10,
        "4 West Med/Surg",
        "Workflow / how-to",
        "Where do I document a wound assessment?",
        ONE,
        Q,
        "",
        "Clinical documentation",
        outcome="resolved",
        resolution="Flowsheet 'Wound LDA' shown; added to the unit's tip sheet.",
    ),
    DemoIssue(
        9,
        "Labor & Delivery",
        "Build / configuration",
        "Fetal monitoring flowsheet lacks the Cat II row",
        SEV,
        W,
        "",
        "Clinical documentation",
        reporter="Hana Ito RN",
        callback="x4630",
    ),
    DemoIssue(
        8,
        "Radiology",
        "Orders / results",
        "CT orders arrive without the reason for exam",
        SEV,
        W,
        "Calling the ordering provider for each order.",
        "Radiology",
        reporter="Tech Ben Adams",
        callback="x5301",
        outcome="waiting_reporter",
    ),
    DemoIssue(
        7,
        "Exam Rooms",
        "Charging / revenue",
        "Visit charges not dropping for injections",
        SEV,
        W,
        "",
        "Billing",
        reporter="Dara Evans MA",
        callback="708-555-0312",
    ),
    DemoIssue(
        6,
        "ICU",
        "Hardware / device",
        "Vitals monitor not sending to flowsheet in bed 6",
        ONE,
        B,
        "Manual entry every 15 minutes.",
        "Clinical documentation",
        "ICU bed 6",
        reporter="Tomas Nowak RN",
        callback="x4419",
    ),
    DemoIssue(
        5,
        "4 West Med/Surg",
        "Printing / labels",
        "Wristband printer jams on every print",
        ONE,
        W,
        "Using the ED printer down the hall.",
        "ADT / Registration",
        "Admissions desk",
    ),
    DemoIssue(
        4.5,
        "5 East Cardiac",
        "Login / access",
        "New float nurse has no access to 5 East",
        ONE,
        B,
        "Float pool RN started today.",
        "Clinical documentation",
        reporter="Charge RN Zoe Varga",
        callback="x4510",
    ),
    DemoIssue(
        4,
        "Emergency Department",
        "Printing / labels",
        "Specimen labels print blank in the ED",
        SEV,
        W,
        "",
        "Lab",
        "ED lab draw station",
        reporter="Kara Walsh RN",
        callback="x4401",
        duplicate_of=0,
    ),
    DemoIssue(
        3,
        "Pharmacy",
        "Data conversion",
        "Converted home meds show the wrong frequency",
        SEV,
        W,
        "Twice-daily came over as daily for some patients.",
        "Pharmacy / eMAR",
        reporter="Priya Shah PharmD",
        callback="x2210",
    ),
    DemoIssue(
        2.5,
        "Operating Rooms",
        "Workflow / how-to",
        "How to add a second surgeon to the case?",
        ONE,
        Q,
        "",
        "OR / Anesthesia",
        reporter="Milo Bakker CST",
        callback="x6110",
    ),
    DemoIssue(
        2,
        "4 West Med/Surg",
        "Enhancement request",
        "Add a shortcut to the fall-risk score",
        ONE,
        Q,
        "It takes six clicks today.",
        "Clinical documentation",
    ),
    DemoIssue(
        1.5,
        "Registration / Patient Access",
        "Login / access",
        "Badge tap login fails on kiosk 3",
        ONE,
        W,
        "Typing the password meanwhile.",
        "ADT / Registration",
        "Kiosk 3",
        reporter="Leo Park",
        callback="x3301",
    ),
    DemoIssue(
        1.2,
        "4 West Med/Surg",
        "Medication / pharmacy / eMAR",
        "eMAR accepted a wristband scan for the wrong patient",
        UNIT,
        B,
        "Scan of room 12's wristband opened room 14's MAR. No dose given.",
        "Pharmacy / eMAR",
        "Room 12",
        patient_safety=True,
        outcome="claimed",
    ),
    DemoIssue(
        1,
        "ICU",
        "Medication / pharmacy / eMAR",
        "Insulin drip titration not on the MAR",
        SEV,
        B,
        "Documenting on paper.",
        "Pharmacy / eMAR",
        reporter="Tomas Nowak RN",
        callback="x4419",
    ),
    DemoIssue(
        0.6,
        "Laboratory",
        "Interfaces",
        "Blood bank results missing from the chart",
        SEV,
        W,
        "Calling results to the units.",
        "Lab",
        reporter="Grace Kim MLS",
        callback="x5120",
    ),
    DemoIssue(
        0.3,
        "Emergency Department",
        "Hardware / device",
        "Label printer offline at triage 1",
        ONE,
        W,
        "",
        "ED",
        "Triage 1",
        reporter="Kara Walsh RN",
        callback="x4401",
    ),
]


class Command(BaseCommand):
    help = "Seed the demo go-live's issue log: a day and a half of realistic issues."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when the demo go-live has no issue yet (first start).",
        )

    def handle(self, *args: Any, if_empty: bool, **options: Any) -> None:
        go_live = GoLive.objects.filter(organization=ORGANIZATION, name=GO_LIVE_NAME).first()
        if go_live is None:
            if if_empty:
                return
            raise CommandError("Run `manage.py seed_demo` first: the demo go-live does not exist.")
        if go_live.issues.exists():
            self.stdout.write("The demo go-live has issues already: nothing seeded.")
            return
        seeded_from = timezone.now()
        with transaction.atomic():
            ensure_issue_setup(go_live=go_live)
            issues = self.seed_issues(go_live)
            self.seed_known_issue(go_live, issues)
            # The demo's history stands for the past day and a half: nothing in it is waiting to be
            # sent or routed now.
            Notification.objects.filter(
                go_live=go_live, created_at__gte=seeded_from, status=Notification.Status.PENDING
            ).update(status=Notification.Status.SENT, sent_at=timezone.now())
            Issue.objects.filter(go_live=go_live).update(routing_pending=False)
        self.stdout.write(self.style.SUCCESS(f"Demo issues ready: {len(issues)} issues."))

    def seed_issues(self, go_live: GoLive) -> list[Issue]:
        units = {unit.name: unit for unit in Unit.objects.filter(site__go_live=go_live)}
        categories = {c.name: c for c in Category.objects.filter(go_live=go_live)}
        applications = dict(Application.objects.filter(go_live=go_live).values_list("name", "pk"))
        users = {
            u.username: u for u in User.objects.filter(username__in=["floor", "agent", "support"])
        }
        now = timezone.now()
        issues: list[Issue] = []
        for spec in ISSUES:
            floor = users.get("floor") if spec.reporter == "floor" else None
            issue, _ = create_issue(
                go_live=go_live,
                unit=units[spec.unit],
                category_id=categories[spec.category].pk,
                title=spec.title,
                description=spec.description,
                impact=spec.impact,
                urgency=spec.urgency,
                patient_safety=spec.patient_safety,
                workaround_in_use=spec.urgency == W,
                application_id=applications.get(spec.application),
                location_detail=spec.location,
                reporter_user=floor,
                reporter_name="" if floor else spec.reporter,
                reporter_callback=spec.callback,
            )
            self.work(issue, spec, issues, users)
            self.move_back(issue, now - dt.timedelta(hours=spec.hours_ago), now)
            issues.append(issue)
        return issues

    def seed_known_issue(self, go_live: GoLive, issues: list[Issue]) -> None:
        """The blank specimen labels, published with its workaround from its first report."""
        units = Unit.objects.filter(
            site__go_live=go_live, name__in=["4 West Med/Surg", "ICU", "Emergency Department"]
        )
        publish_known_issue(
            go_live=go_live,
            anchor=issues[0],
            title="Zebra label printers print blank specimen labels",
            problem="Since the 06:00 driver push, specimen labels come out blank on some Zebra "
            "printers; the printer's own test page is fine.",
            workaround="Print specimen labels from the unit's second printer, or ask the lab "
            "to print them (x5120). Do not hand-write labels.",
            status=KnownIssue.Status.WORKAROUND,
            units=units,
            others=[],
            actor=User.objects.filter(username="lead").first(),
        )

    def work(
        self, issue: Issue, spec: DemoIssue, earlier: list[Issue], users: dict[str, User]
    ) -> None:
        """What the help desk had done by now."""
        agent = users.get("agent")
        if spec.duplicate_of is not None:
            link_issue(
                issue=issue, parent=earlier[spec.duplicate_of], kind="duplicate", actor=agent
            )
            return
        if not spec.outcome or agent is None:
            return
        worker = (
            users.get("support")
            if spec.unit == "4 West Med/Surg" and not spec.patient_safety
            else agent
        )
        issue = claim_issue(issue=issue, agent=worker or agent)
        if spec.outcome == "waiting_reporter":
            add_comment(
                issue=issue,
                actor=agent,
                body="Which CT protocol were you ordering?",
                internal=False,
            )
            change_status(issue=issue, to="waiting_reporter", actor=agent)
        elif spec.outcome == "waiting_vendor":
            add_comment(
                issue=issue,
                actor=agent,
                body="Logged with the vendor; awaiting a fix.",
                internal=True,
            )
            change_status(issue=issue, to="waiting_vendor", actor=agent)
        elif spec.outcome == "resolved":
            change_status(issue=issue, to="in_progress", actor=agent)
            change_status(issue=issue, to="resolved", resolution=spec.resolution, actor=agent)
        if spec.title.startswith("Specimen labels print blank on the 4W"):
            add_reporter(issue=issue, name="Wes Jensen RN", callback="x4415")

    def move_back(self, issue: Issue, created: dt.datetime, now: dt.datetime) -> None:
        """Shift the issue's clock so it was filed at `created`; later steps keep their order."""
        shift = now - created
        Issue.objects.filter(pk=issue.pk).update(
            created_at=F("created_at") - shift,
            updated_at=F("updated_at") - shift * 0.5,
            respond_by=F("respond_by") - shift,
            due_at=F("due_at") - shift,
            sla_paused_at=F("sla_paused_at") - shift * 0.5,
            acknowledged_at=F("acknowledged_at") - shift * 0.9,
            resolved_at=F("resolved_at") - shift * 0.5,
        )
        events = list(IssueEvent.objects.filter(issue=issue).order_by("pk"))
        gap = min(dt.timedelta(minutes=7), shift / (len(events) + 1))
        for step, event in enumerate(events):
            event.at = created + gap * step
        IssueEvent.objects.bulk_update(events, ["at"])
