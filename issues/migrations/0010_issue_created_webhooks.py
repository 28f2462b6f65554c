"""The function the intake statement calls to write a new issue's webhook deliveries.

The intake is one statement (issues.services._create_statement) that psycopg keeps parsed only
while it is under 4 KB: the deliveries' INSERT and payload would not fit in it, so they live
here and the statement passes the row it wrote. It writes what golive.webhooks.emit writes for
the "issue.created" event: one pending outbox row per active endpoint of the go-live subscribed
to it, its body the payload of webhooks.body_of with issues.services.webhook_data (a test
compares the two).
"""

from django.db import migrations

CREATE = r"""
CREATE FUNCTION issue_created_webhooks(p_issue record, p_title text, p_at timestamptz, p_url text)
RETURNS bigint[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    written bigint[];
BEGIN
    WITH payload AS (
        SELECT jsonb_build_object(
            'event', 'issue.created',
            'id', 'issue.created:' || p_issue.id || ':v1',
            'occurred_at', to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'go_live_id', p_issue.go_live_id,
            'data', jsonb_build_object(
                'id', p_issue.id,
                'number', p_issue.number,
                'code', 'GL-' || p_issue.number,
                'title', p_title,
                'priority', p_issue.priority,
                'status', 'new',
                'unit', jsonb_build_object('id', u.id, 'name', u.name),
                'site', jsonb_build_object('id', s.id, 'name', s.name),
                'url', replace(p_url, '{}', p_issue.id::text)
            )
        )::text AS body
        FROM golive_unit u JOIN golive_site s ON s.id = u.site_id
        WHERE u.id = p_issue.unit_id
    ), hooks AS (
        INSERT INTO golive_notification
            (go_live_id, webhook_endpoint_id, recipient_name, recipient_address, channel, subject,
             body, link, dedupe_key, status, attempts, last_error, next_attempt_at, created_at)
        SELECT e.go_live_id, e.id, left(COALESCE(NULLIF(e.description, ''), e.url), 120), '',
               'webhook', 'issue.created', payload.body, '',
               'webhook:' || e.id || ':issue.created:' || p_issue.id || ':v1', 'pending', 0, '',
               p_at, p_at
        FROM golive_webhookendpoint e, payload
        WHERE e.go_live_id = p_issue.go_live_id AND e.is_active
          AND 'issue.created' = ANY(e.events)
        ON CONFLICT DO NOTHING
        RETURNING id
    )
    SELECT array_agg(id) INTO written FROM hooks;
    RETURN COALESCE(written, '{}');
END
$$;
"""

DROP = "DROP FUNCTION issue_created_webhooks(record, text, timestamptz, text);"


class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0009_escalation_acks"),
        ("golive", "0003_webhooks"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
