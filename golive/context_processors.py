from django.http import HttpRequest

from golive.navigation import nav_for


def current_go_live(request: HttpRequest) -> dict[str, object]:
    """The current membership and go-live, the user's other go-lives and the role's navigation."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "current_go_live": membership.go_live if membership else None,
        "memberships": getattr(request, "memberships", []),
        "nav_items": nav_for(membership),
    }
