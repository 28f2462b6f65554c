"""Celery tasks of the issues app: thin wrappers that take ids and call one service function."""

from celery import shared_task

from issues import assignment


# Beat runs it every 5 s: new issues are routed within seconds. It claims them with SKIP LOCKED and
# each issue's routing flag with a conditional UPDATE, so overlapping runs share the work and a
# redelivered run finds nothing done twice.
@shared_task
def route_pending_issues() -> int:
    return assignment.route_pending_issues()
