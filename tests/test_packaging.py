"""The package outside the checkout: a wheel installed in a fresh venv, from its declared dependencies only."""

import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT

# Run in the fresh venv: the public API on a tiny model, then every distribution its imports came from.
USE = textwrap.dedent(
    """
    import importlib.metadata as md, json, re, sys
    import numpy as np, torch
    import pdepth
    assert "site-packages" in pdepth.__file__, pdepth.__file__
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x = torch.randn(120, 1, 2, 2)
    result = pdepth.probe_model(model, x, (x.sum((1, 2, 3)) > 0).long().numpy(), np.arange(120) < 100, progress=False)
    print("layers", *result.layer_name.values)
    from pdepth import schema
    from pdepth.figures import style
    assert schema.SCHEMA.is_file() and style.STYLE.is_file()
    providers = md.packages_distributions()
    used = {dist for name in list(sys.modules) for dist in providers.get(name.partition(".")[0], [])}
    def closure(name, seen):
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            return
        seen.add(key)
        try:
            requirements = md.requires(name) or []
        except md.PackageNotFoundError:  # a dependency of another platform or Python
            return
        for requirement in requirements:
            if "extra ==" not in requirement:
                closure(re.split(r"[ ;<>=!~\\[(]", requirement, maxsplit=1)[0], seen)
    declared = set()
    closure("pdepth", declared)
    print("undeclared", *sorted(d for d in used if re.sub(r"[-_.]+", "-", d).lower() not in declared))
    """
)


# Imported by a declared dependency when installed, and not required by it.
USED_WHEN_PRESENT = {"pyarrow": "pandas", "charset-normalizer": "numpy.f2py"}


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_brings_what_probe_model_needs(tmp_path):
    """``pip install`` of the wheel resolves its dependencies (offline, against this environment's packages, which a
    path file makes visible), imports from site-packages, finds its data files, and every module that
    ``probe_model`` imports comes from a declared dependency or one of theirs."""
    source = tmp_path / "source"  # a copy: building leaves build/ and *.egg-info next to the sources
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path, source],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("pdepth-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)  # pip comes from the path file
    python = venv / "bin/python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    # this environment's packages, but not its editable pdepth (path files inside an added path are not read)
    (tmp_path / "venv" / site.removeprefix(str(venv) + "/") / "shared.pth").write_text(sysconfig.get_paths()["purelib"])
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", wheel], check=True, cwd=tmp_path)
    result = subprocess.run([python, "-c", USE], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" ", 1) if " " in line else (line, "") for line in result.stdout.splitlines())
    assert lines["layers"] == "input 1 2 softmax"
    assert set(lines["undeclared"].split()) <= set(USED_WHEN_PRESENT)


def _imports(path: Path, package_root: Path, type_checking: bool = False) -> set[str]:
    """The pdepth modules a module imports at its top level or in functions (under TYPE_CHECKING too, if asked)."""
    import ast

    found = set()
    tree = ast.parse(path.read_text())
    guarded = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test) and not type_checking
        for node in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pdepth"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (package_root / (candidate.replace(".", "/") + ".py")).exists()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("pdepth")}
    return found


def _modules() -> dict[str, Path]:
    src = ROOT / "src"
    return {
        ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__"): path
        for path in (src / "pdepth").rglob("*.py")
    }


# The floors of src/pdepth/, from the ground up (docs/layout.md): a module imports only from its own floor or below.
FLOORS = (
    ("errors", "paths", "records", "device", "schema"),
    ("models",),
    ("data",),
    ("training",),
    ("config",),
    ("probing",),
    ("outputs",),
    ("statistics",),
    ("metrics",),
    ("fidelity",),
    ("figures",),
    ("workflow",),
    ("pipeline", "api", "pdepth"),
)


def _wing(module: str) -> str:
    """``pdepth.config.study`` -> ``config``; ``pdepth.paths`` -> ``paths``; the package itself -> ``pdepth``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_import_runs_down_the_floors():
    """No module imports from a wing on a higher floor than its own, at run time or under TYPE_CHECKING; every wing
    has its floor; docs/layout.md lists the floors in this order."""
    floor = {wing: level for level, wings in enumerate(FLOORS) for wing in wings}
    modules = _modules()
    assert {_wing(name) for name in modules} == set(floor)
    upward = [
        f"{name} -> {imported}"
        for name, path in modules.items()
        for imported in _imports(path, ROOT / "src", type_checking=True)
        if floor[_wing(imported)] > floor[_wing(name)]
    ]
    assert upward == []
    rows = [line.split("|") for line in (ROOT / "docs/layout.md").read_text().splitlines() if line.startswith("| ")]
    documented = [tuple(re.findall(r"`(\w+)`", row[2])) for row in rows if row[1].strip().isdigit()]
    assert documented == list(FLOORS)


def test_no_module_imports_a_module_that_imports_it():
    """The wings of src/pdepth/ (docs/layout.md) form no import cycle between modules."""
    graph = {
        name: {m for m in _imports(path, ROOT / "src") if m != name and not name.startswith(m + ".")}
        for name, path in _modules().items()
    }
    visiting, done, cycles = [], set(), []

    def visit(module: str) -> None:
        if module in visiting:
            cycles.append(visiting[visiting.index(module) :] + [module])
            return
        if module in done or module not in graph:
            return
        visiting.append(module)
        for child in sorted(graph[module]):
            visit(child)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert cycles == []


# Stages that never run a model: their jobs start without torch's import (about 2 s a job, some 20 jobs a study).
STAGES_WITHOUT_TORCH = ("prepare", "cube", "metrics", "detection", "tables", "figures")


def test_the_numpy_metrics_and_the_stages_without_a_model_import_without_torch():
    """Every module of the metrics wing, and the stages that run no model, load without torch (the input margin
    imports it where it runs)."""
    import pkgutil

    import pdepth.metrics

    modules = [f"pdepth.metrics.{info.name}" for info in pkgutil.iter_modules(pdepth.metrics.__path__)]
    modules += [f"pdepth.pipeline.{stage}" for stage in STAGES_WITHOUT_TORCH]
    code = f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(modules) >= 14 and result.stdout.strip() == "False"
