"""Archive a finished study, and restore it in another checkout so that Snakemake there has nothing to do.

Snakemake re-runs a job when an output is missing or older than an input, when what it recorded in
``.snakemake/metadata`` has changed (the job's params, its set of input files, its software environment), or when
the job's script is newer than its outputs ("code has changed"): a file time, and a fresh clone's scripts are newer
than any study made before it. A restore therefore checks everything but the scripts' times: the workflow's code
against the archive's (a fingerprint of its files, in place of the times), then a dry run with every other trigger
(the study complete, its config the archive's); only then does ``snakemake --touch`` make the outputs newer than
this checkout's scripts. A later change of the config or of a script re-runs what it should.

    python -m pdepth.workflow.archive archive study.tar.gz [--configfile my.yaml ...]   # make archive
    python -m pdepth.workflow.archive restore study.tar.gz                         # make restore, in another clone
"""

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

from pdepth import paths
from pdepth.errors import PdepthError

STUDY = (f"{paths.RESOURCES}/*.npz", paths.RESULTS, paths.LOGS, ".snakemake/metadata")  # the prepared data, not raw
CONFIG = f"{paths.SUMMARY}/config.yaml"  # the study's config as Snakemake read it (rule study_summary)
CODE = ("Snakefile", "rules/*.smk", "scripts/*.py", "envs/*.yaml", "src/pdepth/**/*.py", "src/pdepth/**/*.yaml")
MANIFEST = "pdepth-archive.json"  # in the archive: the code's fingerprint
BUT_CODE = ("mtime", "params", "input", "software-env")  # Snakemake's rerun triggers, all but the scripts' times


class ArchiveError(PdepthError):
    """A study that cannot be archived or restored as it is, and what to do."""


def code_fingerprint(checkout: Path) -> dict[str, str]:
    """The sha256 of each file of the workflow's code (``CODE``) in ``checkout``, by its path there."""
    found = {path for pattern in CODE for path in checkout.glob(pattern) if path.is_file()}
    return {str(path.relative_to(checkout)): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(found)}


def snakemake(workdir: Path, snakefile: Path, *args: str, done: str = "") -> str | None:
    """None when Snakemake, run in ``workdir`` with ``args``, succeeds and says ``done``; else its last lines."""
    command = [str(Path(sys.executable).with_name("snakemake")), "-s", str(snakefile), "-d", str(workdir), *args]
    result = subprocess.run(command, capture_output=True, text=True)
    output = result.stdout + result.stderr
    return None if result.returncode == 0 and done in output else "\n".join(output.splitlines()[-30:])


def dry_run(workdir: Path, snakefile: Path, *args: str) -> str | None:
    """None when Snakemake has nothing to do in ``workdir``, else its dry run's last lines."""
    return snakemake(workdir, snakefile, "-n", *args, done="Nothing to be done")


def archive(target: Path, workdir: Path = Path("."), snakefile: Path | None = None, configfiles: Sequence[Path] = ()):
    """Write the finished study of ``workdir`` (its prepared data, results, logs and Snakemake's records) to the
    tar.gz ``target``, with the fingerprint of the code that made it; refused while the study has jobs left."""
    snakefile = snakefile or workdir / "Snakefile"
    left = dry_run(workdir, snakefile, *(["--configfile", *map(str, configfiles)] if configfiles else []))
    if left:
        raise ArchiveError(f"the study in {workdir} is not finished: run it first (make study). Its dry run:\n{left}")
    manifest = json.dumps({"code": code_fingerprint(snakefile.parent)}, indent=1).encode()
    with tarfile.open(target, "w:gz") as tar:
        for pattern in STUDY:
            for path in sorted(workdir.glob(pattern)):
                tar.add(path, arcname=str(path.relative_to(workdir)))  # times kept: what Snakemake compares
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))


def restore(source: Path, workdir: Path = Path("."), snakefile: Path | None = None, force: bool = False) -> None:
    """Unpack the archive ``source`` into ``workdir`` (a checkout without a study) and mark its outputs up to date,
    after checking that only the scripts' times would re-run them (see the module's description)."""
    snakefile = snakefile or workdir / "Snakefile"
    if (workdir / paths.RESULTS).exists():
        raise ArchiveError(f"{workdir / paths.RESULTS} exists: restore into a checkout without a study")
    with tarfile.open(source) as tar:
        archived = json.load(tar.extractfile(MANIFEST))["code"]
        here = code_fingerprint(snakefile.parent)
        changed = sorted(name for name in archived.keys() | here.keys() if archived.get(name) != here.get(name))
        if changed and not force:
            raise ArchiveError(
                f"the workflow's code in {snakefile.parent} is not the code that made the study; changed: "
                f"{', '.join(changed)}. Check out the commit that made it, or pass --force to restore anyway "
                "(then nothing re-runs for these changes)"
            )
        members = [member for member in tar.getmembers() if member.name != MANIFEST]
        tar.extractall(workdir, members, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    study = ("--configfile", str(workdir.absolute() / CONFIG))  # read from where snakemake is started
    left = dry_run(workdir, snakefile, "--rerun-triggers", *BUT_CODE, *study)
    if left:
        raise ArchiveError(f"the restored study is not complete or not the config's; its dry run:\n{left}")
    left = snakemake(workdir, snakefile, "--touch", "--cores", "1", *study) or dry_run(workdir, snakefile, *study)
    if left:
        raise ArchiveError(f"the restored study still has jobs to run after --touch:\n{left}")
    print(f"restored {source} into {workdir}: nothing to do. Its config: {CONFIG}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("archive", "restore"))
    parser.add_argument("archive", type=Path, help="the .tar.gz file")
    parser.add_argument("--directory", type=Path, default=Path("."), help="the study's working directory")
    parser.add_argument("--snakefile", type=Path, help="default: the working directory's")
    parser.add_argument(
        "--configfile",
        type=Path,
        nargs="+",
        help="archive: the study's config files (merged in order), if not config.yaml",
    )
    parser.add_argument("--force", action="store_true", help="restore: even into changed code")
    args = parser.parse_args(argv)
    try:
        if args.action == "archive":
            archive(args.archive, args.directory, args.snakefile, args.configfile or ())
        else:
            restore(args.archive, args.directory, args.snakefile, args.force)
    except ArchiveError as exc:
        sys.exit(f"{args.action}: {exc}")


if __name__ == "__main__":
    main()
