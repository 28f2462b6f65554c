"""Celery tasks of the staffing app: thin wrappers that take ids and call one service function.

Each area adds its tasks under its own heading below.
"""

from celery import shared_task

# --- Roster import (staffing/roster.py) ----------------------------------------------------------


# acks_late is safe for both: each runs only while the import is in its status (checking,
# importing), and applying takes the import's row lock, so a redelivered message finds nothing to
# do. A missing import is a no-op.
@shared_task(acks_late=True)
def check_roster_import(import_id: int) -> bool:
    # Imported here: every area owns only its heading of this module, not its import block.
    from staffing.roster import check_roster_import as check

    return check(import_id=import_id) is not None


@shared_task(acks_late=True)
def apply_roster_import(import_id: int) -> bool:
    from staffing.roster import apply_roster_import as apply

    return apply(import_id=import_id) is not None


# --- Auto-fill (staffing/autofill.py) ------------------------------------------------------------


# The run's status is claimed by a conditional UPDATE, so a second delivery of the same message
# does nothing; a missing run is a no-op too.
@shared_task
def compute_autofill_proposal(run_id: int) -> bool:
    # Imported here: every area owns only its heading of this module, not its import block.
    from staffing.autofill import compute_proposal

    return compute_proposal(run_id=run_id)


# --- Reminders and late arrivals (staffing/reminders.py) -----------------------------------------
# Beat runs both every minute; a sweep claims its rows with SKIP LOCKED, so overlapping runs
# (two beats, a slow sweep) share the work instead of repeating it. The service is imported in the
# task: this file is shared by several areas, each keeping its imports inside its own section.


@shared_task
def send_shift_reminders() -> int:
    from staffing.reminders import send_due_reminders

    return send_due_reminders()


@shared_task
def report_late_arrivals() -> int:
    from staffing.reminders import report_late_arrivals as report

    return report()
