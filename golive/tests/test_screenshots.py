"""`make screenshots`: every main screen of the demo go-live, at a tablet's size and a desktop's."""

import hashlib
import io
import struct
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser
from pytest_django.live_server_helper import LiveServer

from golive.management.commands.seed_demo import DEFAULT_PASSWORD
from golive.screenshots import SCREENS, SIZES, enroll_demo_tablet, shoot

pytestmark = pytest.mark.browser


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.django_db(transaction=True)
def test_each_screen_is_pictured_from_the_demo_at_both_sizes(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    for command in ("seed_demo", "seed_staffing_demo", "seed_issues_demo"):
        call_command(command, stdout=io.StringIO())

    written = shoot(
        browser,
        base_url=live_server.url,
        out_dir=tmp_path,
        password=DEFAULT_PASSWORD,
        tablet_secret=enroll_demo_tablet(),
    )

    assert sorted(path.name for path in written) == sorted(
        f"{screen.name}-{size.name}.png" for screen in SCREENS for size in SIZES
    )
    for path in written:
        size = next(size for size in SIZES if path.stem.endswith(size.name))
        assert png_size(path) == (size.width, size.height), path.name
    # Twelve different pictures: no screen came out blank or as another's page.
    assert len({hashlib.sha256(path.read_bytes()).hexdigest() for path in written}) == 12
