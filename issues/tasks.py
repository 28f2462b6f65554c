"""Celery tasks of the issues app: thin wrappers that take ids and call one service function."""

from celery import shared_task

from issues import assignment, escalation


# Beat runs it every 5 s: new issues are routed within seconds. It claims them with SKIP LOCKED and
# each issue's routing flag with a conditional UPDATE, so overlapping runs share the work and a
# redelivered run finds nothing done twice.
@shared_task
def route_pending_issues() -> int:
    return assignment.route_pending_issues()


# Beat runs it every 30 s. Overlapping runs share the due issues through SKIP LOCKED; each
# notification's dedupe key makes a repeated step send nothing twice.
@shared_task
def escalate_due_issues() -> int:
    return escalation.escalate_due_issues()


# Beat runs it every 5 minutes: escalation that should have happened and did not is tried again.
@shared_task
def audit_escalations() -> int:
    return escalation.requeue_stuck_escalations()
