"""What a worker builds of an environment definition, and why two differ (plain Python)."""

from __future__ import annotations

import pytest

from studio.core.environments import Definition, describe_change, parse_definition, plan
from studio.core.errors import StudioError


def _plan(**fields):
    return plan(parse_definition({"name": "e", **fields}))


def test_conda_packages_install_from_pypi_under_their_name_in_pep_508_form():
    built = _plan(
        python="3.8",
        conda_packages=[
            "scikit-learn",
            "numpy=1.26",
            "conda-forge::pandas==2.2.3",
            "scipy 1.11 py39_0",
        ],
    )
    assert built.requirements == (
        "numpy==1.26.*",
        "pandas==2.2.3",
        "scikit-learn",
        "scipy==1.11.*",
    )
    assert built.from_conda == {"numpy", "pandas", "scikit-learn", "scipy"}


def test_azureml_packages_and_installer_pins_are_skipped_with_a_note():
    built = _plan(
        conda_packages=["pip=20.2.4", "setuptools"],
        pip_packages=["azureml-defaults", "azureml-dataset-runtime[fuse]", "Tabulate==0.9.0"],
    )
    assert built.requirements == ("tabulate==0.9.0",)
    notes = "\n".join(built.notes)
    assert "azureml-defaults: met by the Studio SDK" in notes
    assert "azureml-dataset-runtime[fuse]: met by the Studio SDK" in notes
    assert "pip=20.2.4" not in built.requirements_text()
    assert "setuptools is the installer's own; ignored" in notes


def test_the_pandas_extra_of_azuremls_data_runtime_installs_pandas():
    built = _plan(pip_packages=["azureml-core", "azureml-dataprep[pandas,fuse]", "scikit-learn"])
    assert built.requirements == ("pandas", "scikit-learn")
    assert "azureml-dataprep[pandas,fuse]: its [pandas] extra installs pandas" in built.notes
    runtime = _plan(pip_packages=["azureml-dataset-runtime[fuse, pandas]", "pandas==2.2.3"])
    assert runtime.requirements == ("pandas==2.2.3",)  # a pin of the user's own stays
    assert _plan(pip_packages=["azureml-dataset-runtime[fuse]"]).requirements == ()


def test_an_environment_with_no_packages_runs_on_the_workers_python():
    # azureml's default environment: python 3.8.13 and azureml-defaults only
    default = _plan(python="3.8.13", pip_packages=["azureml-defaults"])
    assert default.on_worker and default.build_hash == ""
    assert _plan(user_managed=True, pip_packages=["numpy"]).on_worker
    assert plan(Definition()).on_worker


def test_the_build_hash_covers_python_requirements_and_options_but_not_names_or_variables():
    one = _plan(python="3.11", pip_packages=["b", "a==1"])
    assert one.build_hash == _plan(python="3.11", pip_packages=["a==1", "b"]).build_hash
    assert (
        one.build_hash
        == plan(
            parse_definition(
                {
                    "name": "other",
                    "python": "3.11",
                    "pip_packages": ["a==1", "b"],
                    "environment_variables": {"X": "1"},
                }
            )
        ).build_hash
    )
    assert one.build_hash != _plan(python="3.12", pip_packages=["b", "a==1"]).build_hash
    assert one.build_hash != _plan(python="3.11", pip_packages=["b", "a==2"]).build_hash
    with_pre = _plan(python="3.11", pip_packages=["--pre", "b", "a==1"])
    assert with_pre.build_hash != one.build_hash
    assert with_pre.requirements_text().startswith("--pre\n")


@pytest.mark.parametrize(
    ("field", "line", "source"),
    [
        ("pip_packages", "./my-package", "a local path"),
        ("pip_packages", "/srv/studio/var/secret_key", "a local path"),
        ("pip_packages", "file:///etc/passwd", "a local path"),
        ("pip_packages", "mine @ file:///opt/mine", "a local path"),
        ("pip_packages", "dist/mine-1.0-py3-none-any.whl", "a local path"),
        ("pip_packages", "-e .", "an editable install"),
        ("pip_packages", "--index-url http://10.0.0.5/simple", "a package index"),
        ("pip_packages", "-i http://10.0.0.5/simple", "a package index"),
        ("pip_packages", "--extra-index-url=https://evil.example/simple", "a package index"),
        ("pip_packages", "--find-links /srv/wheels", "a folder of packages"),
        ("pip_packages", "-f ./wheels", "a folder of packages"),
        ("pip_packages", "git+https://github.com/o/mine.git#egg=mine", "a version control URL"),
        ("pip_packages", "mine @ git+ssh://git@github.com/o/mine.git", "a version control URL"),
        ("conda_packages", "./local-conda-package", "a local path"),
    ],
)
def test_a_line_naming_its_own_source_is_refused_naming_the_line(field, line, source):
    with pytest.raises(StudioError) as caught:
        _plan(**{field: ["numpy==1.26", line]})
    assert caught.value.field == f"environment.{field}[1]"
    assert f"'{line}' installs from {source}" in caught.value.message
    assert "STUDIO_ENV_ALLOW_CUSTOM_SOURCES=1" in caught.value.message
    # An administrator may allow them: the line is then passed on as written.
    allowed = plan(parse_definition({field: [line, "numpy"]}), allow_custom_sources=True)
    assert line.split("=", 1)[-1].split()[-1] in allowed.requirements_text()


def test_packages_by_name_and_files_on_the_web_are_not_custom_sources():
    definition = {
        "pip_packages": [
            "numpy",
            "pandas==2.2.3",
            "scikit-learn[alldeps] >= 1.5 ; python_version >= '3.10'",
            "--pre",
            "mine @ https://files.example/mine-1.0-py3-none-any.whl",
        ],
        "conda_packages": ["conda-forge::scipy=1.11"],
    }
    built = plan(parse_definition(definition), allow_custom_sources=False)
    assert built.options == ("--pre",)
    assert len(built.requirements) == 5


def test_where_a_refused_line_is_named_follows_the_caller():
    with pytest.raises(StudioError) as caught:
        plan(parse_definition({"pip_packages": ["./x"]}), where="graph.steps[2].environment")
    assert caught.value.field == "graph.steps[2].environment.pip_packages[0]"


def test_an_option_the_installer_is_not_given_is_noted():
    built = _plan(pip_packages=["--no-deps", "a"])
    assert built.options == ()
    assert any("--no-deps" in note for note in built.notes)


def test_a_docker_image_is_noted_as_not_used():
    built = _plan(pip_packages=["a"], docker_image="mcr.microsoft.com/azureml/base:latest")
    assert any("not used" in note and "mcr.microsoft.com" in note for note in built.notes)


def test_a_changed_requirement_is_named_with_both_versions():
    old = _plan(pip_packages=["scikit-learn==1.4", "pandas"]).fingerprint_part("3.11.7")
    new = _plan(pip_packages=["scikit-learn==1.5", "numpy"]).fingerprint_part("3.11.7")
    assert describe_change(old, new) == [
        "environment changed: numpy added, pandas removed, scikit-learn 1.4 → 1.5"
    ]
    assert describe_change(old, old) == []


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"python": "three"}, "environment.python"),
        ({"conda_packages": "numpy"}, "environment.conda_packages"),
        ({"pip_packages": [1]}, "environment.pip_packages[0]"),
        (
            {"environment_variables": {"PYTHONPATH": "/x"}},
            "environment.environment_variables.PYTHONPATH",
        ),
        (
            {"environment_variables": {"STUDIO_RUN_TOKEN": "x"}},
            "environment.environment_variables.STUDIO_RUN_TOKEN",
        ),
        ({"environment_variables": {"A-B": "x"}}, "environment.environment_variables.A-B"),
        ({"user_managed": "yes"}, "environment.user_managed"),
        ({"pip_packages": ["a" * 1001]}, "environment.pip_packages[0]"),
    ],
)
def test_a_bad_definition_names_its_field(definition, field):
    with pytest.raises(StudioError) as caught:
        parse_definition(definition)
    assert caught.value.field == field
