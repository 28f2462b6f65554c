"""url_format gives what reverse gives, for int and str arguments alike."""

from django.urls import reverse

from golive.lib.urls import url_format


def test_a_formatted_path_is_the_reversed_one() -> None:
    assert url_format("issues:detail").format(42) == reverse("issues:detail", args=[42])
    assert url_format("staffing:shift_detail").format(7) == reverse(
        "staffing:shift_detail", args=[7]
    )
    token = "2n9c.1.2.nsc.c.25w72.4CvGpZsW"
    assert url_format("ack").format(token) == reverse("ack", args=[token])
