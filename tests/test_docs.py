"""The public API is documented numpydoc-style, with examples that run as doctests."""

import inspect
import re
from pathlib import Path

import pytest

import skmcevae
from skmcevae import MCEVAE, datasets, metrics, plotting

METHODS = ["fit", "predict", "predict_proba", "fit_predict", "transform",
           "inverse_transform", "canonicalize", "sample", "score", "score_samples",
           "get_feature_names_out", "predict_pose"]
FUNCTIONS = [getattr(module, name) for module in (datasets, metrics, plotting)
             for name in module.__all__ if inspect.isfunction(getattr(module, name))]
# Examples where a short one says something; the others are shown by the class's.
NO_EXAMPLE = {"fit", "fit_predict", "score_samples", "get_feature_names_out",
              "plot_history"}


@pytest.mark.parametrize("function", [getattr(MCEVAE, m) for m in METHODS] + FUNCTIONS,
                         ids=lambda f: f.__qualname__)
def test_public_callables_have_numpydoc_sections(function):
    doc = inspect.getdoc(function)
    assert doc, function
    assert "Returns\n-------" in doc
    if inspect.signature(function).parameters.keys() - {"self"}:
        assert "Parameters\n----------" in doc
    if function.__name__ not in NO_EXAMPLE:
        assert "Examples\n--------\n>>>" in doc


def test_every_constructor_parameter_is_documented():
    doc = inspect.getdoc(MCEVAE)
    for name in inspect.signature(MCEVAE).parameters:
        assert f"\n{name} : " in doc, name


def test_version_is_in_one_place_and_in_the_changelog():
    root = Path(__file__).resolve().parents[1]
    assert f"## {skmcevae.__version__} (" in (root / "CHANGELOG.md").read_text()
    project = (root / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in project
    # The one version line reads skmcevae.__version__.
    assert re.findall(r"^version\s*=.*$", project, flags=re.MULTILINE) == [
        'version = {attr = "skmcevae.__version__"}']


def test_readme_layout_lists_every_module():
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    table = readme[readme.index("## Layout"):]
    modules = sorted(p.name for p in (root / "skmcevae").glob("*.py")
                     if p.name != "__init__.py")
    missing = [name for name in modules if f"`skmcevae/{name}`" not in table]
    assert missing == []
