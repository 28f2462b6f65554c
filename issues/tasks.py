"""Celery tasks of the issues app: thin wrappers that take ids and call one service function."""

from celery import shared_task

from issues import assignment


# acks_late is safe: routing claims the issue's routing_pending flag by a conditional UPDATE in the
# transaction that assigns it, so a redelivered message finds nothing to do; a missing issue is a
# no-op. Enqueued by create_issue after its commit.
@shared_task(acks_late=True)
def route_new_issue(issue_id: int) -> str:
    return assignment.route_issue(issue_id=issue_id).value


# Beat runs it every 30 s for the issues whose task was never enqueued (the broker was down); it
# claims them with SKIP LOCKED, so overlapping runs share the work.
@shared_task
def route_pending_issues() -> int:
    return assignment.route_pending_issues()
