"""The header navigation for each role: what a role sees first is what it does most."""

from dataclasses import dataclass

from django.urls import reverse

from golive.models import Membership, Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


def nav_for(membership: Membership | None) -> list[NavItem]:
    if membership is None:
        return []
    items = [NavItem("Home", reverse("home"))]
    go_live_id = membership.go_live_id
    if membership.role in {Role.COMMAND_CENTER_LEAD, Role.CLINIC_MANAGER}:
        items.append(NavItem("Sites & units", reverse("golive:detail", args=[go_live_id])))
    items.append(NavItem("Who to call", reverse("golive:directory", args=[go_live_id])))
    items.append(NavItem("Notifications", reverse("golive:notifications")))
    return items
