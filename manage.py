#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
    # A checkout with no production configuration at all is a developer's: run commands in
    # development mode. Where SECRET_KEY is set (a deployment), DEBUG keeps its safe default, off.
    if "SECRET_KEY" not in os.environ:
        os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
