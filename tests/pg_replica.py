"""A throw-away PostgreSQL primary and its streaming replica, for the analytics-replica test.

The same steps as the compose `replica` profile (docker/postgres/): a primary with
wal_level=replica, a standby made with `pg_basebackup -R` (which writes primary_conninfo and
standby.signal) and started with hot_standby so it answers reads while replaying WAL.
PostgreSQL refuses to run as root, so as root every command runs as the postgres user.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

# Ports tried first (kept clear of the suite's other servers on a shared machine); any free
# port the OS gives otherwise.
PORT_RANGE = range(5460, 5470)


def bindir() -> Path | None:
    """The newest PostgreSQL bin directory with initdb and pg_basebackup, or None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_basebackup").exists():
            return path
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_basebackup") else None


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def two_free_ports() -> tuple[int, int]:
    """Two free ports, from PORT_RANGE when possible, else any the OS gives."""
    ports = [port for port in PORT_RANGE if _free(port)][:2]
    while len(ports) < 2:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    return ports[0], ports[1]


@dataclass
class Pair:
    """A running primary and replica: their ports and SQLAlchemy URLs for `database`."""

    bin: Path
    root: Path
    primary_port: int
    replica_port: int
    database: str = "followthrough"

    def url(self, port: int, database: str | None = None) -> str:
        """A psycopg URL for a database on one of the two servers."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database or self.database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def run(self, *command: str) -> None:
        """Run a PostgreSQL program (as the postgres user when we are root)."""
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)

    def start(self, name: str, port: int, *settings: str) -> None:
        options = " ".join([f"-p {port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1",
                            "-c fsync=off", *(f"-c {s}" for s in settings)])  # fmt: skip
        data = self.root / name
        log = self.root / f"{name}.log"
        self.run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options,
                 "start")  # fmt: skip

    def stop(self) -> None:
        """Stop both servers and remove their files."""
        for name in ("replica", "primary"):
            if (self.root / name / "postmaster.pid").exists():
                self.run(str(self.bin / "pg_ctl"), "-D", str(self.root / name), "-m", "immediate",
                         "stop")  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_for_replay(self, timeout: float = 20) -> None:
        """Block until the replica has replayed everything the primary has written so far."""
        with _connect(self.url(self.primary_port, "postgres")) as primary:
            lsn = primary.execute(text("SELECT pg_current_wal_lsn()")).scalar()
        deadline = time.monotonic() + timeout
        with _connect(self.url(self.replica_port, "postgres")) as replica:
            while True:
                replayed = replica.execute(
                    text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}
                ).scalar()
                if replayed:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replica did not replay up to {lsn} in {timeout}s")
                time.sleep(0.05)

    def replay(self, paused: bool) -> None:
        """Pause or resume WAL replay on the replica (its reads then stand still in time)."""
        call = "pg_wal_replay_pause()" if paused else "pg_wal_replay_resume()"
        with _connect(self.url(self.replica_port, "postgres")) as replica:
            replica.execute(text(f"SELECT {call}"))


class _connect:
    """An autocommit connection that is closed and whose engine is disposed on exit."""

    def __init__(self, url: str):
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")

    def __enter__(self):
        self.connection = self.engine.connect()
        return self.connection

    def __exit__(self, *_exc):
        self.connection.close()
        self.engine.dispose()


def start_pair(bin_path: Path) -> Pair:
    """Create a primary, a database on it, and a hot-standby replica streaming from it."""
    root = Path(tempfile.mkdtemp(prefix="ft-replica-"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary_port, replica_port = two_free_ports()
    pair = Pair(bin_path, root, primary_port, replica_port)
    try:
        # initdb's pg_hba.conf already lets local replication connections in (trust here).
        pair.run(str(bin_path / "initdb"), "-D", str(root / "primary"), "-U", "postgres",
                 "-A", "trust", "--no-sync")  # fmt: skip
        pair.start("primary", primary_port, "wal_level=replica", "max_wal_senders=4")
        pair.run(str(bin_path / "createdb"), "-h", "127.0.0.1", "-p", str(primary_port),
                 "-U", "postgres", pair.database)  # fmt: skip
        pair.run(str(bin_path / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port),
                 "-U", "postgres", "-D", str(root / "replica"), "-R", "-X", "stream",
                 "--checkpoint=fast", "--no-sync")  # fmt: skip
        pair.start("replica", replica_port, "hot_standby=on")
    except BaseException:
        pair.stop()
        raise
    return pair
