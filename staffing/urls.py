"""URLs of the staffing app (namespace `staffing`), gathered from one module per area."""

from staffing.views import board, coverage, grid, me, roster

app_name = "staffing"

urlpatterns = [
    *roster.urlpatterns,
    *coverage.urlpatterns,
    *grid.urlpatterns,
    *me.urlpatterns,
    *board.urlpatterns,
]
