"""What people come for beyond a run's page: publish a run, submit the published pipeline with a
parameter override, switch it off and on, call it with an API token, version it behind a pipeline
endpoint, browse a datastore and look at a registered dataset and who used it."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from studio.sdk.core import Dataset, Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline, PipelineEndpoint
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser

STEPS = str(ROOT / "tests" / "sources" / "steps")
RUN_TIMEOUT_MS = 30_000
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _expect():
    from playwright.sync_api import expect

    return expect


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _reg_rate_pipeline(ws) -> Pipeline:
    """One step, write.py, given a float PipelineParameter reg_rate (default 0.01)."""
    reg_rate = PipelineParameter(name="reg_rate", default_value=0.01)
    out = OutputFileDatasetConfig("out")
    step = PythonScriptStep(
        name="write",
        script_name="write.py",
        source_directory=STEPS,
        arguments=["--out", out, "--value", reg_rate],
    )
    return Pipeline(ws, [step])


def _noop_pipeline(ws) -> Pipeline:
    return Pipeline(
        ws, [PythonScriptStep(name="noop", script_name="noop.py", source_directory=STEPS)]
    )


def _runs_of(studio, experiment: str) -> list[dict]:
    return studio.api("GET", f"runs/?experiment={experiment}").json()["results"]


@pytest.fixture(scope="module")
def source_run(studio):
    """A Completed run of the reg_rate pipeline: what a person publishes from its page."""
    ws = studio.workspace()
    run = Experiment(ws, "browser-publish-source").submit(_reg_rate_pipeline(ws))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    return run


@pytest.fixture
def published(studio):
    """A published reg_rate pipeline of the test's own (publishing does not run anything)."""
    ws = studio.workspace()
    return _reg_rate_pipeline(ws).publish(
        name=_unique("browser-published"), description="published by the SDK", version="1"
    )


def _title_status(page):
    return page.locator(".title-row form .status")


# --- 1. publish from a run's page, then submit with an override -----------------------------


def test_publish_a_run_then_submit_it_with_an_override(page, studio, source_run, shot):
    expect = _expect()
    name = _unique("ui-published")
    experiment = _unique("browser-override")

    page.goto(f"{studio.url}/runs/{source_run.id}/")
    expect(page.locator("#run-status .run-summary .status")).to_have_text("Completed")
    page.get_by_role("link", name="Publish", exact=True).click()
    expect(page).to_have_url(f"{studio.url}/runs/{source_run.id}/publish/")
    expect(page.get_by_role("heading", name="Publish pipeline")).to_be_visible()
    page.fill("#id_name", name)
    page.fill("#id_description", "Writes reg_rate to a file")
    page.fill("#id_version", "2.0")
    shot(page, "publish-form")
    page.get_by_role("button", name="Publish", exact=True).click()

    page.wait_for_url(re.compile(rf"/pipelines/{UUID}/$"))
    pipeline_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator(".messages")).to_contain_text(f"Published {name} 2.0.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 2.0")
    expect(page.get_by_text("Writes reg_rate to a file")).to_be_visible()
    expect(_title_status(page)).to_have_text("Active")

    # The graph, drawn by plotly, with the step's name on its node.
    expect(page.locator("#pipeline-graph svg.main-svg").first).to_be_visible()
    expect(
        page.locator("#pipeline-graph .scatterlayer .trace:last-child g.textpoint text")
    ).to_have_text(["write"])

    # The parameter with its type and default.
    params = page.locator("section.card", has=page.get_by_role("heading", name="Parameters"))
    rows = params.locator("table.grid").first.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td")).to_have_text(["reg_rate", "float", "0.01"])

    # The REST endpoint and the examples calling it.
    url = page.locator("#endpoint-url").text_content().strip()
    assert url == f"{studio.url}/pipelines/v1.0/PipelineRuns/PipelineSubmit/{pipeline_id}", url
    assert url.endswith(f"/PipelineRuns/PipelineSubmit/{pipeline_id}")
    examples = page.locator("pre.code")
    expect(examples).to_have_count(2)
    expect(examples.nth(0)).to_contain_text(f"curl -X POST '{url}'")
    expect(examples.nth(0)).to_contain_text('"ParameterAssignments": {"reg_rate": 0.01}')
    expect(examples.nth(1)).to_contain_text(f"requests.post('{url}'")
    expect(examples.nth(1)).to_contain_text("'Bearer ' + os.environ['STUDIO_TOKEN']")
    shot(page, "published")

    # Submit it from the page with reg_rate=0.5.
    form = page.locator("#submit-form")
    expect(form.locator("#id_param_reg_rate")).to_have_value("0.01")
    expect(form.get_by_label("reg_rate (float)")).to_be_visible()
    form.locator("#id_experiment_name").fill(experiment)
    form.locator("#id_param_reg_rate").fill("0.5")
    form.get_by_role("button", name="Submit").click()

    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    run_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert run_id not in (source_run.id, pipeline_id)
    expect(page.locator(".messages")).to_contain_text(f"Submitted run 1 of {experiment}.")
    expect(page.locator("#run-status .run-summary .status")).to_have_text(
        "Completed", timeout=RUN_TIMEOUT_MS
    )
    changed = page.locator(".facts .parameters code.param-changed")
    expect(changed).to_have_text("reg_rate=0.5")
    expect(changed).to_have_attribute("title", "default: 0.01")
    expect(page.locator(".facts .parameters")).to_contain_text("(changed from default 0.01)")
    expect(page.locator(".facts").get_by_role("link", name=f"{name} 2.0")).to_have_attribute(
        "href", f"/pipelines/{pipeline_id}/"
    )
    # The step's log shows the value the script was given.
    expect(page.locator(".log-card h2")).to_contain_text("write")
    expect(page.locator("#log-text")).to_contain_text("wrote 0.5", timeout=10_000)

    data = studio.api("GET", f"runs/{run_id}/").json()
    assert data["published_pipeline"] == pipeline_id
    assert data["parameters"] == {"reg_rate": 0.5}


def test_a_run_watched_to_completion_offers_publish_and_shows_its_step_completed(page, studio):
    expect = _expect()
    ws = studio.workspace()
    step = PythonScriptStep(
        name="nap", script_name="sleep.py", source_directory=STEPS, arguments=["--seconds", "2"]
    )
    run = Experiment(ws, "browser-watch-to-publish").submit(Pipeline(ws, [step]))
    page.goto(f"{studio.url}/runs/{run.id}/")
    summary = page.locator("#run-status .run-summary .status")
    expect(summary).not_to_have_text("Completed", timeout=1000)
    expect(page.get_by_role("link", name="Publish", exact=True)).to_have_count(0)
    expect(summary).to_have_text("Completed", timeout=RUN_TIMEOUT_MS)
    # The status polls every 2 s: by the next poll the rest of the page has caught up.
    expect(page.locator("section.log-card h2 .status")).to_have_text("Completed", timeout=2500)
    expect(page.get_by_role("link", name="Publish", exact=True)).to_be_visible(timeout=2000)


# --- 2. a bad value is refused next to its field ----------------------------------------------


def test_a_bad_parameter_value_is_shown_next_to_its_field_and_starts_nothing(
    page, studio, published
):
    expect = _expect()
    experiment = _unique("browser-bad-value")
    page.goto(f"{studio.url}/pipelines/{published.id}/")
    field = page.locator("#id_param_reg_rate")
    expect(field).to_have_attribute("inputmode", "decimal")
    page.fill("#id_experiment_name", experiment)
    field.fill("abc")
    with page.expect_response(lambda r: r.url.endswith("/submit/")) as answer:
        page.locator("#submit-form").get_by_role("button", name="Submit").click()
    assert answer.value.status == 400

    error = page.locator("#id_param_reg_rate-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Expected type of the pipeline parameter reg_rate is float")
    # Next to the field: in the same .field block, which is marked as in error.
    box = page.locator(".field.has-error")
    expect(box).to_have_count(1)
    expect(box.locator("#id_param_reg_rate")).to_have_count(1)
    expect(box.locator("#id_param_reg_rate-error")).to_have_count(1)
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Exception" not in body
    # The rest of the form keeps what was typed.
    expect(page.locator("#id_experiment_name")).to_have_value(experiment)
    expect(
        page.locator("#submit-form").locator("xpath=..").get_by_text("No runs yet.")
    ).to_be_visible()
    assert _runs_of(studio, experiment) == []


# --- 3. disable and enable ----------------------------------------------------------------------


def test_disable_and_enable_a_published_pipeline_from_its_page(page, studio, published, shot):
    expect = _expect()
    page.goto(f"{studio.url}/pipelines/{published.id}/")
    submit = page.locator("#submit-form").get_by_role("button", name="Submit")
    expect(_title_status(page)).to_have_text("Active")
    expect(submit).to_be_enabled()

    page.get_by_role("button", name="Disable").click()
    page.wait_for_url(f"{studio.url}/pipelines/{published.id}/")
    expect(_title_status(page)).to_have_text("Disabled")
    expect(submit).to_be_disabled()
    expect(submit).to_have_attribute("title", "Enable the pipeline to submit runs")
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    assert studio.api("GET", f"publishedpipelines/{published.id}/").json()["status"] == "Disabled"
    shot(page, "disabled")

    # The list says so too.
    page.goto(f"{studio.url}/pipelines/")
    row = page.locator("table.grid tbody tr", has=page.get_by_role("link", name=published.name))
    expect(row.locator(".status").first).to_have_text("Disabled")
    row.get_by_role("link", name=published.name).click()

    page.get_by_role("button", name="Enable").click()
    page.wait_for_url(f"{studio.url}/pipelines/{published.id}/")
    expect(_title_status(page)).to_have_text("Active")
    expect(submit).to_be_enabled()
    expect(page.get_by_role("button", name="Disable")).to_be_visible()


# --- 4. API tokens ------------------------------------------------------------------------------


def _create_token(page, studio, name: str, pipeline_id: str) -> str:
    expect = _expect()
    page.goto(f"{studio.url}/tokens/")
    page.fill("#id_name", name)
    page.select_option("#id_scope", "submit")
    page.select_option("#id_pipeline", pipeline_id)
    page.get_by_role("button", name="Create token").click()
    created = page.locator(".created-token")
    expect(created).to_be_visible()
    expect(created.get_by_role("heading")).to_have_text(f"Token {name} created")
    secret = page.locator("#new-token").text_content().strip()
    assert re.fullmatch(r"st_\w+_\S+", secret), secret
    return secret


def _token_row(page, name: str):
    return page.locator("table.grid tbody tr", has_text=name)


def test_a_pipeline_token_is_shown_once_submits_and_stops_working_when_revoked(
    page, studio, published, shot
):
    expect = _expect()
    name = _unique("browser-token")
    secret = _create_token(page, studio, name, published.id)
    row = _token_row(page, name)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("submit")
    expect(row.locator("td").nth(2)).to_have_text(f"pipeline {published.name}")
    expect(row.locator("td").nth(5)).to_have_text("Active")
    shot(page, "created")

    # Opening the page again never shows the secret.
    page.goto(f"{studio.url}/tokens/")
    expect(page.locator(".created-token")).to_have_count(0)
    assert secret not in page.content()
    expect(row.locator("code.muted")).to_have_text(f"st_{secret.split('_')[1]}_…")

    answer = requests.post(
        published.endpoint,
        headers={"Authorization": f"Bearer {secret}"},
        json={"ExperimentName": "browser-token-runs"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["PipelineId"] == published.id
    page.reload()
    expect(row.locator("td").nth(4)).not_to_have_text("never")

    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url(f"{studio.url}/tokens/")
    expect(page.locator(".messages")).to_contain_text(f"Token {name} is revoked.")
    expect(row.locator("td").nth(5)).to_have_text("Revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    again = requests.post(
        published.endpoint,
        headers={"Authorization": f"Bearer {secret}"},
        json={"ExperimentName": "browser-token-runs"},
        timeout=30,
    )
    assert again.status_code == 401, again.text


def test_reloading_the_page_that_shows_a_new_token_does_not_show_or_make_it_again(
    page, studio, published
):
    expect = _expect()
    name = _unique("browser-reload")
    secret = _create_token(page, studio, name, published.id)
    page.reload()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    rows = _token_row(page, name)
    try:
        expect(rows).to_have_count(1, timeout=2000)
        expect(page.locator(".created-token")).to_have_count(0, timeout=2000)
        assert secret not in page.content()
    finally:
        revoke = rows.get_by_role("button", name="Revoke")
        for left in range(revoke.count() - 1, -1, -1):  # leave no live token behind
            revoke.first.click()
            expect(revoke).to_have_count(left)


# --- 5. pipeline endpoints ----------------------------------------------------------------------


def test_a_pipeline_endpoints_default_version_changes_and_version_0_submits(
    page, studio, published, shot
):
    expect = _expect()
    ws = studio.workspace()
    name = _unique("browser-endpoint")
    endpoint = PipelineEndpoint.publish(ws, name, "two versions", published)
    endpoint.add(_noop_pipeline(ws))
    assert [v.version for v in endpoint.list_versions()] == ["0", "1"]

    page.goto(f"{studio.url}/endpoints/")
    row = page.locator("table.grid tbody tr", has=page.get_by_role("link", name=name))
    expect(row.locator("td")).to_have_text([name, "Active", "2", "0"])
    row.get_by_role("link", name=name).click()
    expect(page).to_have_url(f"{studio.url}/endpoints/{endpoint.id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator(".facts")).to_contain_text(
        f"/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint.id}"
    )

    versions = page.locator("section.card", has=page.get_by_role("heading", name="Versions"))
    version_rows = versions.locator("table.grid").first.locator("tbody tr")
    expect(version_rows).to_have_count(2)
    expect(version_rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    expect(version_rows.nth(0).locator(".chip")).to_have_text("default")
    expect(version_rows.nth(0).get_by_role("button", name="Make default")).to_have_count(0)

    version_rows.nth(1).get_by_role("button", name="Make default").click()
    page.wait_for_url(f"{studio.url}/endpoints/{endpoint.id}/")
    expect(version_rows.nth(1).locator(".chip")).to_have_text("default")
    expect(version_rows.nth(0).get_by_role("button", name="Make default")).to_be_visible()
    expect(page.locator(".facts div", has_text="Default version").locator("dd")).to_have_text("1")
    assert PipelineEndpoint.get(ws, name=name).default_version == "1"
    # The form submits the default version, now the noop pipeline: no parameters.
    expect(page.get_by_role("heading", name="Submit version 1")).to_be_visible()
    expect(page.locator("#id_param_reg_rate")).to_have_count(0)

    version_rows.nth(0).get_by_role("link", name="Submit this version").click()
    expect(page).to_have_url(f"{studio.url}/endpoints/{endpoint.id}/?version=0")
    expect(page.get_by_role("heading", name="Submit version 0")).to_be_visible()
    expect(page.locator("#id_param_reg_rate")).to_have_value("0.01")
    experiment = _unique("browser-endpoint-runs")
    page.fill("#id_experiment_name", experiment)
    page.fill("#id_param_reg_rate", "0.25")
    page.locator("section.form-card").get_by_role("button", name="Submit").click()

    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    run_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("#run-status .run-summary .status")).to_have_text(
        "Completed", timeout=RUN_TIMEOUT_MS
    )
    expect(page.locator(".facts").get_by_role("link", name=name)).to_have_attribute(
        "href", f"/endpoints/{endpoint.id}/"
    )
    expect(page.locator(".facts .parameters code.param-changed")).to_have_text("reg_rate=0.25")
    data = studio.api("GET", f"runs/{run_id}/").json()
    assert data["published_pipeline"] == published.id
    assert data["experiment"] == experiment

    # The endpoint lists the run.
    page.goto(f"{studio.url}/endpoints/{endpoint.id}/")
    expect(page.get_by_role("link", name=f"{experiment} · 1")).to_have_attribute(
        "href", f"/runs/{run_id}/"
    )


# --- 6. datastores and datasets -----------------------------------------------------------------

CSV_A = "id,name,score\n1,alpha,0.5\n2,beta,0.75\n3,gamma,1.25\n"
CSV_B = "id,name,score\n4,delta,2.5\n5,epsilon,3.0\n"


@pytest.fixture(scope="module")
def csv_folder(studio, tmp_path_factory):
    """Two CSVs uploaded with the SDK to a folder of the default datastore."""
    local = tmp_path_factory.mktemp("csvs")
    (local / "a.csv").write_text(CSV_A)
    (local / "b.csv").write_text(CSV_B)
    folder = _unique("browser-csvs")
    store = studio.workspace().get_default_datastore()
    store.upload(str(local), target_path=folder, overwrite=True, show_progress=False)
    return folder


def test_browse_the_default_datastore_into_a_folder_and_download_a_file(
    page, studio, csv_folder, shot
):
    expect = _expect()
    page.goto(f"{studio.url}/datastores/")
    expect(page.get_by_role("heading", name="Datastores")).to_be_visible()
    row = page.locator(
        "table.grid tbody tr", has=page.get_by_role("link", name="workspaceblobstore", exact=True)
    )
    expect(row.locator(".chip")).to_have_text("default")
    shot(page, "list")
    row.get_by_role("link", name="workspaceblobstore", exact=True).click()
    expect(page).to_have_url(f"{studio.url}/datastores/workspaceblobstore/")

    page.get_by_role("link", name=f"{csv_folder}/").click()
    expect(page).to_have_url(re.compile(rf"/datastores/workspaceblobstore/\?path={csv_folder}$"))
    expect(page.locator("nav.crumbs.path")).to_contain_text(f"workspaceblobstore / {csv_folder}")
    rows = page.locator("table.browse tbody tr")
    expect(rows).to_have_count(3)  # "..", a.csv, b.csv
    expect(rows.nth(0)).to_have_text("..")
    expect(rows.nth(1).locator("td")).to_have_text(["a.csv", f"{len(CSV_A)}\xa0bytes", "Download"])
    expect(rows.nth(1).locator("td.num")).to_have_attribute("title", f"{len(CSV_A)} bytes")
    expect(rows.nth(2).locator("td")).to_have_text(["b.csv", f"{len(CSV_B)}\xa0bytes", "Download"])

    with page.expect_download() as info:
        rows.nth(2).get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "b.csv"
    with open(download.path(), encoding="utf-8") as fh:
        assert fh.read() == CSV_B

    # ".." leads back up.
    rows.nth(0).get_by_role("link", name="..").click()
    expect(page).to_have_url(re.compile(r"/datastores/workspaceblobstore/\?path=$"))
    expect(page.get_by_role("link", name=f"{csv_folder}/")).to_be_visible()
    page.get_by_role("link", name=f"{csv_folder}/").click()  # the screenshot shows the folder


@pytest.fixture(scope="module")
def table(studio, csv_folder):
    """A Tabular dataset: version 1 on both CSVs (folder/*.csv), version 2 on a.csv only."""
    ws = studio.workspace()
    store = ws.get_default_datastore()
    name = _unique("browser_table").replace("-", "_")
    first = Dataset.Tabular.from_delimited_files(path=(store, f"{csv_folder}/*.csv")).register(
        ws, name, description="CSVs uploaded by the browser tests"
    )
    second = Dataset.Tabular.from_delimited_files(path=(store, f"{csv_folder}/a.csv")).register(
        ws, name, create_new_version=True
    )
    assert (first.version, second.version) == (1, 2)
    return name


def _preview(page):
    return page.locator("table.preview")


def _open_the_dataset_and_expect_version_2(page, studio, csv_folder: str, table: str, shot):
    """Open the dataset from the list; expect its versions, version 2's preview and its file."""
    expect = _expect()
    page.goto(f"{studio.url}/datasets/")
    row = page.locator("table.grid tbody tr", has=page.get_by_role("link", name=table))
    expect(row.locator("td").nth(1)).to_have_text("Tabular")
    expect(row.locator("td").nth(2)).to_have_text("2")
    expect(row.locator("td").nth(3)).to_have_text("2")
    shot(page, "list")
    row.get_by_role("link", name=table).click()
    expect(page).to_have_url(f"{studio.url}/datasets/{table}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(table)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tabular · version 2")

    # The version list, newest first, the latest selected, each with where it points.
    versions = page.locator("section.card").first.locator("table.grid").first
    expect(versions.locator("tbody tr td:first-child")).to_have_text(["2", "1"])
    expect(versions.locator("tbody tr.selected td:first-child")).to_have_text("2")
    expect(versions.locator("tbody tr td:nth-child(2)")).to_have_text(
        [f"workspaceblobstore:{csv_folder}/a.csv", f"workspaceblobstore:{csv_folder}/*.csv"]
    )

    # The preview: the CSV's columns and first rows, in order; and its file.
    expect(_preview(page).locator("thead th")).to_have_text(["id", "name", "score"])
    expect(_preview(page).locator("tbody tr").first.locator("td")).to_have_text(
        ["1", "alpha", "0.5"]
    )
    expect(_preview(page).locator("tbody tr td:nth-child(2)")).to_have_text(
        ["alpha", "beta", "gamma"]
    )
    files = page.locator("section.card", has=page.get_by_role("heading", name=re.compile("^Files")))
    expect(files.locator("table.grid").last.locator("tbody td:first-child")).to_have_text(
        [f"workspaceblobstore:{csv_folder}/a.csv"]
    )
    expect(files.locator("table.grid").last.locator("tbody td.num")).to_have_text(
        [f"{len(CSV_A)}\xa0bytes"]
    )
    expect(page.get_by_text("No run has used this version yet.")).to_be_visible()
    return versions


def _read_version_2_in_a_pipeline(ws, table: str, folder):
    """A Finished pipeline run whose one step, count.py in ``folder``, read version 2."""
    (folder / "count.py").write_text(
        "from studio.sdk.core import Run\n"
        "frame = Run.get_context().input_datasets['csvs'].to_pandas_dataframe()\n"
        "print('read', len(frame), 'rows')\n"
    )
    reader = PythonScriptStep(
        name="count rows",
        script_name="count.py",
        source_directory=str(folder),
        arguments=[Dataset.get_by_name(ws, table, version=2).as_named_input("csvs")],
    )
    run = Experiment(ws, "browser-dataset-reader").submit(Pipeline(ws, [reader]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    assert "read 3 rows" in run.find_step_run("count rows")[0].get_job_log()
    return run


def test_a_tabular_dataset_shows_versions_a_preview_and_the_runs_that_read_it(
    page, studio, csv_folder, table, tmp_path, shot
):
    expect = _expect()
    versions = _open_the_dataset_and_expect_version_2(page, studio, csv_folder, table, shot)
    # Once a pipeline has read version 2 (as_named_input), the run is listed.
    run = _read_version_2_in_a_pipeline(studio.workspace(), table, tmp_path)
    page.reload()
    uses = page.locator("section.card").first.locator("table.grid").nth(1)
    expect(page.get_by_role("heading", name="Runs that read or wrote version 2")).to_be_visible()
    expect(uses.locator("tbody tr")).to_have_count(1)
    expect(uses.locator("tbody tr td")).to_have_text(
        [
            re.compile(r"^browser-dataset-reader · Run \d+$"),
            "count rows",
            "read",
            re.compile(r"^(just now|\d+ min ago)$"),  # within the last day: relative
        ]
    )
    shot(page, "lineage")
    uses.get_by_role("link", name="count rows").click()
    expect(page).to_have_url(re.compile(rf"/runs/{run.id}/\?step="))
    expect(page.locator("#log-text")).to_contain_text("read 3 rows")

    # Version 1 is another dataset as far as lineage goes: nobody read it.
    page.goto(f"{studio.url}/datasets/{table}/")
    versions.get_by_role("link", name="1", exact=True).click()
    expect(page).to_have_url(f"{studio.url}/datasets/{table}/?version=1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 1")
    expect(page.get_by_text("CSVs uploaded by the browser tests")).to_be_visible()
    expect(page.get_by_role("heading", name="Runs that read or wrote version 1")).to_be_visible()
    expect(page.get_by_text("No run has used this version yet.")).to_be_visible()
    page.goto(f"{studio.url}/datasets/{table}/")  # the screenshot shows version 2 and its reader


def test_the_preview_of_a_dataset_on_several_csvs_shows_their_rows(page, studio, csv_folder, table):
    expect = _expect()
    page.goto(f"{studio.url}/datasets/{table}/?version=1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 1")
    files = page.locator("section.card", has=page.get_by_role("heading", name=re.compile("^Files")))
    expect(files.locator("table.grid").last.locator("tbody td:first-child")).to_have_text(
        [f"workspaceblobstore:{csv_folder}/a.csv", f"workspaceblobstore:{csv_folder}/b.csv"]
    )
    expect(page.locator("p.error")).to_have_count(0, timeout=2000)
    expect(_preview(page).locator("thead th")).to_have_text(["id", "name", "score"], timeout=2000)
    expect(_preview(page).locator("tbody tr td:nth-child(2)")).to_have_text(
        ["alpha", "beta", "gamma", "delta", "epsilon"], timeout=2000
    )


# --- the side navigation on these pages -------------------------------------------------------


def test_the_side_nav_marks_pipelines_endpoints_and_tokens(page, studio, published):
    expect = _expect()
    for path, label in [
        ("/pipelines/", "Pipelines"),
        (f"/pipelines/{published.id}/", "Pipelines"),
        ("/datastores/workspaceblobstore/", "Datastores"),
        ("/endpoints/", "Pipeline endpoints"),
        ("/tokens/", "API tokens"),
    ]:
        page.goto(f"{studio.url}{path}")
        expect(page.locator('.sidenav a[aria-current="page"]')).to_have_text(label, timeout=2000)
