"""A single-node Slurm cluster on localhost, with accounting (slurmdbd on a private MariaDB), for the Slurm test.

Needs root and Debian's slurm-wlm, slurmdbd, munge and mariadb-server (`.ci/run` installs them). Slurm reads its
configuration from /etc/slurm/slurm.conf only (the executor plugin's job step drops SLURM_CONF), so the cluster
writes it there, and refuses to run where a configuration exists that it did not write. Every daemon it starts is
stopped by PID on exit; all state lives in a temporary directory.
"""

import contextlib
import getpass
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

ETC = Path("/etc/slurm")
MARKER = "# written by pdepth's tests/slurm_cluster.py"
PROGRAMS = ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "mariadb-install-db", "sacctmgr", "sbatch")
CLUSTER, ACCOUNT, PARTITION = "pdepth", "pdepth", "debug"


def unavailable() -> str:
    """Why a local Slurm cannot be started here ("" if it can)."""
    if os.geteuid() != 0:
        return "needs root (to start munged, slurmctld and slurmd)"
    missing = [p for p in PROGRAMS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install slurm-wlm slurmdbd munge mariadb-server)"
    for name in ("slurm.conf", "slurmdbd.conf"):
        path = ETC / name
        if path.exists() and MARKER not in path.read_text(errors="replace"):
            return f"{path} exists and is not ours: a real Slurm installation is left alone"
    return ""


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def _run(*command: str, timeout: int = 60) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result.stdout


def _wait(what: str, ready, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            if ready():
                return
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready after {timeout} s")


class LocalSlurm:
    """``with LocalSlurm(tmp) as slurm:`` a running cluster; ``slurm.log_files`` has the daemons' logs."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.pids: list[tuple[str, Path]] = []  # (name, pid file) of every daemon we started
        self.children: list[subprocess.Popen] = []  # daemons that are our child processes (to reap)
        self.written: list[Path] = []

    @property
    def log_files(self) -> list[Path]:
        return sorted(self.root.glob("*.log"))

    def __enter__(self) -> "LocalSlurm":
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for name, pid_file in reversed(self.pids):
            self._stop(name, pid_file)
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=20)
        for path in self.written:
            path.unlink(missing_ok=True)

    def _start(self) -> None:
        for name in ("state", "spool", "db"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self._munge()
        self._mariadb()
        self._write(ETC / "slurmdbd.conf", self._slurmdbd_conf(), mode=0o600)
        self._write(ETC / "slurm.conf", self._slurm_conf(), mode=0o644)
        self._daemon("slurmdbd", "/usr/sbin/slurmdbd")
        _wait(
            "slurmdbd",
            lambda: (
                subprocess.run(["sacctmgr", "-n", "list", "cluster"], capture_output=True, timeout=10).returncode == 0
            ),
        )
        _run("sacctmgr", "-i", "add", "cluster", CLUSTER)
        _run("sacctmgr", "-i", "add", "account", ACCOUNT, "Description=pdepth tests", "Organization=pdepth")
        _run("sacctmgr", "-i", "add", "user", getpass.getuser(), f"Account={ACCOUNT}", f"DefaultAccount={ACCOUNT}")
        self._daemon("slurmctld", "/usr/sbin/slurmctld")
        self._daemon("slurmd", "/usr/sbin/slurmd", "-N", "localhost")
        _wait("the node", lambda: "idle" in _run("sinfo", "-h", "-o", "%T", timeout=10))

    def _write(self, path: Path, text: str, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{MARKER}\n{text}")
        path.chmod(mode)
        self.written.append(path)

    def _daemon(self, name: str, *command: str) -> None:
        pid_file = self.root / f"{name}.pid"
        self.pids.append((name, pid_file))
        _run(*command)  # each daemonises itself and writes its PID file
        _wait(f"{name}'s pid file", pid_file.exists, timeout=20)

    def _stop(self, name: str, pid_file: Path) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            child = next((c for c in self.children if c.pid == pid), None)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=20)
                    return
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                os.kill(pid, 0)  # raises ProcessLookupError once it is gone
                time.sleep(0.2)
            os.kill(pid, signal.SIGKILL)

    def _munge(self) -> None:
        run_dir = Path("/run/munge")
        if (run_dir / "munge.socket.2").exists() and subprocess.run(
            ["munge", "-n"], capture_output=True
        ).returncode == 0:
            return  # a munged is already running: use it, and leave it running
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        pid_file = run_dir / "munged.pid"
        self.pids.append(("munged", pid_file))
        _run("runuser", "-u", "munge", "--", "/usr/sbin/munged")
        _wait("munged", lambda: subprocess.run(["munge", "-n"], capture_output=True).returncode == 0)

    def _mariadb(self) -> None:
        db, socket = self.root / "db", self.root / "mysql.sock"
        _run(
            "mariadb-install-db",
            "--user=root",
            f"--datadir={db}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            timeout=120,
        )
        pid_file = self.root / "mariadbd.pid"
        self.pids.append(("mariadbd", pid_file))
        log = open(self.root / "mariadbd.log", "w")  # noqa: SIM115 (the daemon keeps it)
        self.children.append(
            subprocess.Popen(
                [
                    "/usr/sbin/mariadbd",
                    "--user=root",
                    f"--datadir={db}",
                    f"--socket={socket}",
                    f"--pid-file={pid_file}",
                    "--port=3306",
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        sql = (
            "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'pdepth'; "
            "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"
        )
        _wait(
            "mariadbd",
            lambda: (
                subprocess.run(["mariadb", f"--socket={socket}", "-e", sql], capture_output=True, timeout=10).returncode
                == 0
            ),
        )

    def _slurmdbd_conf(self) -> str:
        return f"""AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile={self.root}/slurmdbd.pid
LogFile={self.root}/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=pdepth
StorageLoc=slurm_acct_db
"""

    def _slurm_conf(self) -> str:
        cpus = os.cpu_count() or 1
        return f"""ClusterName={CLUSTER}
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={self.root}/state
SlurmdSpoolDir={self.root}/spool
SlurmctldPidFile={self.root}/slurmctld.pid
SlurmdPidFile={self.root}/slurmd.pid
SlurmctldLogFile={self.root}/slurmctld.log
SlurmdLogFile={self.root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/none
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MinJobAge=600
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={int(_memory_mb() * 0.9)} State=UNKNOWN
PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
