"""The embedded PostgreSQL and Redis that `make run` and `make test` start when nothing is configured."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

# Prints what the child sees: its database's name, a Redis round trip and the Redis URL; with a
# path argument it then holds on until that file is removed.
PROBE = """
import os, sys, psycopg, redis, dj_database_url
db = dj_database_url.parse(os.environ["DATABASE_URL"])
with psycopg.connect(host=db["HOST"], user=db["USER"], dbname=db["NAME"]) as conn:
    database = conn.execute("SELECT current_database()").fetchone()[0]
r = redis.Redis(unix_socket_path=os.environ["REDIS_URL"].removeprefix("unix://"))
r.set("golive-probe", "ok")
print(database, r.get("golive-probe").decode(), os.environ["REDIS_URL"])
if len(sys.argv) > 1:
    open(sys.argv[1], "w").write("ready")
    while os.path.exists(sys.argv[1]):
        __import__("time").sleep(0.05)
"""


def _env_without_services() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}


def _launch(var_dir: Path, *probe_args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "golive.embedded", "--var-dir", str(var_dir), "--"),
            *(sys.executable, "-c", PROBE, *probe_args),
        ],
        cwd=BASE_DIR,
        env=_env_without_services(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _servers_running(var_dir: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(attrs=["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(var_dir / "postgres") in cmdline and "postgres" in cmdline:
            found.append("postgres")
        if "redis-server" in cmdline and str(var_dir / "redis") in cmdline:
            found.append("redis")
    return sorted(set(found))


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the launcher did not get ready in time"
        time.sleep(0.1)


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    # Short path: Unix socket paths are limited to about 100 characters.
    path = tmp_path / "var"
    path.mkdir()
    return path


def test_it_starts_both_servers_for_the_command_and_stops_them_after(var_dir: Path) -> None:
    proc = _launch(var_dir)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 0, err
    assert out.split() == ["golive", "ok", f"unix://{var_dir}/redis/redis.sock"]
    assert (var_dir / "postgres" / "PG_VERSION").exists()
    assert _servers_running(var_dir) == []


def test_a_second_launcher_reuses_the_running_servers_and_the_last_one_stops_them(
    var_dir: Path,
) -> None:
    first_ready = var_dir.parent / "first-ready"
    first = _launch(var_dir, str(first_ready))
    _wait_for(first_ready, first)
    assert _servers_running(var_dir) == ["postgres", "redis"]
    redis_pid = (var_dir / "redis" / "redis.pid").read_text().strip()

    second = _launch(var_dir)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert out.split()[:2] == ["golive", "ok"]
    # The second launcher used the same Redis process and left both servers to the first.
    assert (var_dir / "redis" / "redis.pid").read_text().strip() == redis_pid
    assert _servers_running(var_dir) == ["postgres", "redis"]

    first_ready.unlink()
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert _servers_running(var_dir) == []


def test_nothing_embedded_starts_when_both_urls_are_set(var_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "golive.embedded", "--var-dir", str(var_dir), "--", "env"],
        cwd=BASE_DIR,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"DATABASE_URL={os.environ['DATABASE_URL']}" in result.stdout.splitlines()
    assert list(var_dir.iterdir()) == []


def test_the_command_exit_status_is_passed_on(var_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "golive.embedded",
            "--var-dir",
            str(var_dir),
            "--",
            "sh",
            "-c",
            "exit 3",
        ],
        cwd=BASE_DIR,
        env=os.environ.copy(),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 3
