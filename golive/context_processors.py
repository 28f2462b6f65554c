from django.http import HttpRequest

from golive.navigation import nav_for


def current_go_live(request: HttpRequest) -> dict[str, object]:
    """The current membership and go-live, the user's other go-lives and the role's navigation."""
    membership = getattr(request, "membership", None)
    # An enrolled unit tablet (no login) still belongs to a go-live: its name, clock and phone.
    tablet = getattr(request, "tablet", None)
    go_live = membership.go_live if membership else (tablet.go_live if tablet else None)
    return {
        "membership": membership,
        "current_go_live": go_live,
        "memberships": getattr(request, "memberships", []),
        "nav_items": nav_for(membership),
    }
