"""The report's captions (report/**/*.rst), rendered as ``snakemake --report`` renders them, without a Snakemake run:
docutils must not find anything to warn about (it would show as "System Message" boxes in the report)."""

import io
import re
from types import SimpleNamespace

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from jinja2 import Environment

from conftest import ROOT
from pdepth.figures import registry

CAPTIONS = sorted((ROOT / "report").rglob("*.rst"))
CATEGORIES = {spec.paper for spec in registry.FIGURES.values()} | {
    category
    for rules in (ROOT / "rules").glob("*.smk")
    for category in re.findall(r'category="([^"]+)"', rules.read_text())
}
WILDCARDS = {"variant": "noise40/", "dataset": "fmnist", "arch": "mlp"}


def as_snakemake_renders(caption: str) -> str:
    """The caption with the link target that snakemake appends to each for every category (snakemake.report), and its
    templating filled in."""
    links = "".join(f"\n.. _{category}: javascript:app.showCategory('{category}')" for category in sorted(CATEGORIES))
    snakemake = SimpleNamespace(wildcards=WILDCARDS, config={})
    return (
        Environment(trim_blocks=True, lstrip_blocks=True)
        .from_string(f"{caption}\n{links}\n")
        .render(snakemake=snakemake)
    )


@pytest.mark.parametrize("caption", CAPTIONS, ids=lambda path: str(path.relative_to(ROOT / "report")))
def test_caption_renders_without_a_docutils_message(caption):
    warnings = io.StringIO()
    tree = publish_doctree(
        as_snakemake_renders(caption.read_text()),
        settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": warnings},
    )
    assert [message.astext() for message in tree.findall(nodes.system_message)] == [], warnings.getvalue()
    assert warnings.getvalue() == ""
