"""The header navigation for each role: what a role sees first is what it does most.

The core names other apps' pages by URL name only (no import), so the layers stay one-way.
"""

from dataclasses import dataclass

from django.urls import reverse

from golive.models import Membership, Role
from golive.permissions import DESK


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


PLANNERS = {Role.COMMAND_CENTER_LEAD, Role.CLINIC_MANAGER}


def nav_for(membership: Membership | None) -> list[NavItem]:
    if membership is None:
        return []
    role = membership.role
    go_live_id = membership.go_live_id
    items = [NavItem("Home", reverse("home"))]
    if role in DESK:
        items.append(NavItem("Command center", reverse("issues:dashboard")))
    if role == Role.FLOOR_STAFF:
        items.append(NavItem("Log an issue", reverse("issues:new")))
        items.append(NavItem("My issues", reverse("issues:mine")))
        items.append(NavItem("Call now", reverse("issues:call_now")))
    else:
        items.append(NavItem("Queue", reverse("issues:queue")))
    items.append(NavItem("Known issues", reverse("issues:known")))
    if role in PLANNERS or role == Role.HELP_DESK_AGENT:
        items.append(NavItem("Coverage", reverse("staffing:grid")))
        items.append(NavItem("Roster", reverse("staffing:people")))
    if role in PLANNERS:
        items.append(NavItem("Requests", reverse("staffing:requests")))
    if role == Role.SUPPORT_STAFF:
        items.append(NavItem("My shifts", reverse("staffing:my_shifts")))
    items.append(NavItem("Who's on", reverse("staffing:whos_on")))
    items.append(NavItem("Who to call", reverse("golive:directory", args=[go_live_id])))
    if role in PLANNERS:
        items.append(NavItem("Sites & units", reverse("golive:detail", args=[go_live_id])))
    items.append(NavItem("Notifications", reverse("golive:notifications")))
    return items
