"""Celery tasks of the staffing app: thin wrappers that take ids and call one service function."""

from celery import shared_task

from staffing import autofill, reminders, roster

# Planning a month for 40 units, or importing 5,000 people, may take longer than the default
# limits meant for notification delivery; these tasks get room of their own.
LONG_TASK = {"soft_time_limit": 600, "time_limit": 660}


# --- Roster import ---------------------------------------------------------------------------------
# acks_late is safe for both: each runs only while the import is in its status (checking,
# importing), and applying takes the import's row lock, so a redelivered message finds nothing to
# do. A missing import is a no-op.


@shared_task(acks_late=True, **LONG_TASK)
def check_roster_import(import_id: int) -> bool:
    return roster.check_roster_import(import_id=import_id) is not None


@shared_task(acks_late=True, **LONG_TASK)
def apply_roster_import(import_id: int) -> bool:
    return roster.apply_roster_import(import_id=import_id) is not None


# --- Auto-fill -------------------------------------------------------------------------------------


# The run's status is claimed by a conditional UPDATE, so a second delivery of the same message
# does nothing; a missing run is a no-op too.
@shared_task(**LONG_TASK)
def compute_autofill_proposal(run_id: int) -> bool:
    return autofill.compute_proposal(run_id=run_id)


# acks_late is safe: publishing runs only while the run is publishing, re-reads it under its row
# lock, and skips proposals already on the schedule, so a message redelivered after a worker died
# assigns only the rest. A missing run is a no-op.
@shared_task(acks_late=True, **LONG_TASK)
def publish_autofill(run_id: int) -> bool:
    return autofill.publish_proposals(run_id=run_id)


# --- Reminders and late arrivals -------------------------------------------------------------------
# Beat runs both every minute; a sweep claims its rows with SKIP LOCKED, so overlapping runs
# (two beats, a slow sweep) share the work instead of repeating it.


@shared_task
def send_shift_reminders() -> int:
    return reminders.send_due_reminders()


@shared_task
def report_late_arrivals() -> int:
    return reminders.report_late_arrivals()
