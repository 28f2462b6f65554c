"""The in-app inbox: a user's own notifications of the current go-live, marked read one or all."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from golive.models import GoLive, Membership, Notification, Role
from golive.permissions import SESSION_KEY

INBOX = reverse("golive:notifications")


def in_app(user: User, go_live: GoLive | None, subject: str, **fields: object) -> Notification:
    return Notification.objects.create(
        dedupe_key=f"test:{user.username}:{subject}",
        channel=Notification.Channel.IN_APP,
        recipient_user=user,
        go_live=go_live,
        subject=subject,
        **fields,
    )


def test_it_lists_only_the_users_own_notifications_of_the_current_go_live(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    agent_alex: User,
    outsider_oscar: User,
    mercy: GoLive,
    lakeside: GoLive,
) -> None:
    in_app(nurse_nina, mercy, "Your issue 17 was resolved", link="/issues/17/")
    in_app(nurse_nina, None, "Welcome to golive")
    in_app(agent_alex, mercy, "Issue 18 assigned to you")
    in_app(outsider_oscar, lakeside, "Lakeside cutover moved")
    # Nina's message in a go-live she is not (or no longer) a member of stays out of sight.
    in_app(nurse_nina, lakeside, "Lakeside badge ready")
    Notification.objects.create(
        dedupe_key="email:nina",
        channel=Notification.Channel.EMAIL,
        recipient_user=nurse_nina,
        go_live=mercy,
        subject="Emailed shift reminder",
    )

    response = client_for(nurse_nina).get(INBOX)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Your issue 17 was resolved" in content
    assert 'href="/issues/17/"' in content
    assert "Welcome to golive" in content
    assert "Issue 18 assigned to you" not in content
    assert "Lakeside" not in content
    assert "Emailed shift reminder" not in content


def test_it_shows_the_newest_first_and_marks_unread_ones_as_new(
    client_for: Callable[[User], Client], nurse_nina: User, mercy: GoLive
) -> None:
    older = in_app(nurse_nina, mercy, "Older and read", read_at=timezone.now())
    older.created_at = timezone.now() - dt.timedelta(hours=2)
    older.save()
    in_app(nurse_nina, mercy, "Newer and unread")

    response = client_for(nurse_nina).get(INBOX)

    content = response.content.decode()
    assert content.index("Newer and unread") < content.index("Older and read")
    assert content.count(">New</span>") == 1
    assert "1 new" in content


def test_it_only_links_to_paths_inside_golive(
    client_for: Callable[[User], Client], nurse_nina: User, mercy: GoLive
) -> None:
    in_app(nurse_nina, mercy, "Odd link", link="https://evil.example/login")
    in_app(nurse_nina, mercy, "Script link", link="javascript:alert(1)")

    content = client_for(nurse_nina).get(INBOX).content.decode()

    assert "evil.example" not in content
    assert "javascript:" not in content


def test_it_pages_fifty_at_a_time(
    client_for: Callable[[User], Client], nurse_nina: User, mercy: GoLive
) -> None:
    for number in range(55):
        in_app(nurse_nina, mercy, f"Message {number}")
    client = client_for(nurse_nina)

    first = client.get(INBOX)
    second = client.get(INBOX, {"page": 2})

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()


def test_it_takes_the_same_number_of_queries_for_five_or_sixty_rows(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    mercy: GoLive,
    django_assert_max_num_queries: Callable,
) -> None:
    client = client_for(nurse_nina)
    client.get(INBOX)  # the first page also saves the session (the current go-live)
    for number in range(5):
        in_app(nurse_nina, mercy, f"Message {number}")
    with django_assert_max_num_queries(6) as few:
        client.get(INBOX)

    for number in range(5, 60):
        in_app(nurse_nina, mercy, f"Message {number}")
    with django_assert_max_num_queries(6) as many:
        client.get(INBOX)

    assert len(many.captured_queries) == len(few.captured_queries)


def test_it_sends_an_anonymous_visitor_to_sign_in(client: Client, db: None) -> None:
    response = client.get(INBOX)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_marks_one_notification_read_and_goes_back(
    client_for: Callable[[User], Client], nurse_nina: User, mercy: GoLive
) -> None:
    notification = in_app(nurse_nina, mercy, "Your issue 17 was resolved")
    other = in_app(nurse_nina, mercy, "Still unread")

    response = client_for(nurse_nina).post(
        reverse("golive:notification_read", args=[notification.pk]), {"next": f"{INBOX}?page=1"}
    )

    assert response.status_code == 302
    assert response.url == f"{INBOX}?page=1"
    notification.refresh_from_db()
    other.refresh_from_db()
    assert notification.read_at is not None
    assert other.read_at is None


def test_it_does_not_follow_a_next_url_to_another_site(
    client_for: Callable[[User], Client], nurse_nina: User, mercy: GoLive
) -> None:
    notification = in_app(nurse_nina, mercy, "Hello")

    response = client_for(nurse_nina).post(
        reverse("golive:notification_read", args=[notification.pk]),
        {"next": "https://evil.example/"},
    )

    assert response.url == INBOX


def test_with_htmx_it_answers_with_the_row_and_the_new_count(
    client_for: Callable[[User], Client], nurse_nina: User, mercy: GoLive
) -> None:
    notification = in_app(nurse_nina, mercy, "Your issue 17 was resolved")
    in_app(nurse_nina, mercy, "Still unread")

    response = client_for(nurse_nina).post(
        reverse("golive:notification_read", args=[notification.pk]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert f'id="notification-{notification.pk}"' in content
    assert ">New</span>" not in content
    assert "Mark as read" not in content
    assert 'hx-swap-oob="true"' in content
    assert "1 new" in content


def test_it_refuses_to_mark_someone_elses_notification(
    client_for: Callable[[User], Client], nurse_nina: User, agent_alex: User, mercy: GoLive
) -> None:
    alexs = in_app(agent_alex, mercy, "Issue 18 assigned to you")

    response = client_for(nurse_nina).post(reverse("golive:notification_read", args=[alexs.pk]))

    assert response.status_code == 404
    alexs.refresh_from_db()
    assert alexs.read_at is None


def test_it_refuses_a_get_to_mark_read(
    client_for: Callable[[User], Client], nurse_nina: User, mercy: GoLive
) -> None:
    notification = in_app(nurse_nina, mercy, "Hello")

    response = client_for(nurse_nina).get(
        reverse("golive:notification_read", args=[notification.pk])
    )

    assert response.status_code == 405


def test_it_marks_all_of_the_users_notifications_of_this_go_live_read(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    agent_alex: User,
    mercy: GoLive,
    lakeside: GoLive,
) -> None:
    in_app(nurse_nina, mercy, "One")
    in_app(nurse_nina, None, "Two")
    Membership.objects.create(user=nurse_nina, go_live=lakeside, role=Role.SUPPORT_STAFF)
    lakeside_one = in_app(nurse_nina, lakeside, "Lakeside one")
    alexs = in_app(agent_alex, mercy, "Alex's")
    client = client_for(nurse_nina)
    session = client.session
    session[SESSION_KEY] = mercy.pk
    session.save()

    response = client.post(reverse("golive:notifications_read_all"), follow=True)

    assert "Marked 2 notifications as read." in response.content.decode()
    assert not Notification.objects.filter(recipient_user=nurse_nina, go_live=mercy, read_at=None)
    assert Notification.objects.get(subject="Two").read_at is not None
    lakeside_one.refresh_from_db()
    alexs.refresh_from_db()
    assert lakeside_one.read_at is None
    assert alexs.read_at is None


@pytest.mark.parametrize("name", ["golive:notification_read", "golive:notifications_read_all"])
def test_it_sends_an_anonymous_post_to_sign_in(
    client: Client, nurse_nina: User, mercy: GoLive, name: str
) -> None:
    notification = in_app(nurse_nina, mercy, "Hello")
    url = reverse(name, args=[notification.pk]) if name.endswith("_read") else reverse(name)

    response = client.post(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    notification.refresh_from_db()
    assert notification.read_at is None
