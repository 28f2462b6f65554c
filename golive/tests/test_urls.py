"""url_format and path_of give what reverse gives: for int and str arguments alike, and under
another script prefix."""

from django.urls import get_script_prefix, reverse, set_script_prefix

from golive.lib.urls import path_of, url_format


def test_a_formatted_path_is_the_reversed_one() -> None:
    assert url_format("issues:detail").format(42) == reverse("issues:detail", args=[42])
    assert url_format("staffing:shift_detail").format(7) == reverse(
        "staffing:shift_detail", args=[7]
    )
    assert url_format("staffing:print_unit_day", "2026-11-03").format(9) == reverse(
        "staffing:print_unit_day", args=[9, "2026-11-03"]
    )
    token = "2n9c.1.2.nsc.c.25w72.4CvGpZsW"
    assert url_format("ack").format(token) == reverse("ack", args=[token])


def test_a_path_made_per_request_follows_the_script_prefix() -> None:
    plain = path_of("issues:confirmation", 42)
    assert plain == reverse("issues:confirmation", args=[42])
    before = get_script_prefix()
    set_script_prefix("/golive/")
    try:
        prefixed = path_of("issues:confirmation", 42)
        assert prefixed == reverse("issues:confirmation", args=[42])
        assert prefixed == "/golive" + plain
    finally:
        set_script_prefix(before)
    assert path_of("issues:confirmation", 7) == reverse("issues:confirmation", args=[7])
