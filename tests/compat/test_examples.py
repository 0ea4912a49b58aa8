"""Microsoft's intro-to-pipelines examples, written as their notebooks write them (see
conftest.py), each run end to end against a real server and worker."""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime

import pytest

from studio.sdk.pipeline.core import PipelineRun
from tests.compat.conftest import AZURE_CONFIG

pytestmark = pytest.mark.integration


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _run(studio, run_id: str) -> dict:
    return studio.api("GET", f"runs/{run_id}/").json()


def _printed(output: str, label: str) -> str:
    """The value printed after ``label`` on its own line."""
    match = re.search(rf"^{re.escape(label)}\s*(\S+)$", output, re.MULTILINE)
    assert match, f"{label!r} not printed in:\n{output[-3000:]}"
    return match.group(1)


def test_getting_started(example, studio):
    out = example("getting_started").stdout
    assert "SDK version: 0.1.0" in out
    # ws.name, ws.resource_group, ws.location, ws.subscription_id, from the Azure config file
    assert (
        f"{AZURE_CONFIG['workspace_name']}\n{AZURE_CONFIG['resource_group']}\nlocal\n"
        f"{AZURE_CONFIG['subscription_id']}\n" in out
    )
    assert "Blobstore's name: workspaceblobstore" in out
    assert "'currentNodeCount': 1" in out  # get_status().serialize(): the worker is a node
    assert "Created step train_step" in out and "eligible to reuse" in out
    for name in ("train_step", "compare_step", "extract_step"):
        assert f"Script: {name} status: Finished" in out
        assert f"] {name}: Completed" in out  # RunDetails in a terminal: a line per change
    assert "train_step: {'accuracy': 0.91}" in out

    run = _run(studio, _printed(out, "Hello_World2 run:"))
    assert run["status"] == "Completed"
    steps = {s["name"]: s for s in run["steps"]}
    # run_after: extract after compare after train, though no data flows between them
    assert _when(steps["compare_step"]["started_at"]) >= _when(steps["train_step"]["ended_at"])
    assert _when(steps["extract_step"]["started_at"]) >= _when(steps["compare_step"]["ended_at"])
    assert {s["compute_target"] for s in run["steps"]} == {"cpu-cluster"}


def test_data_dependency_steps(example, studio, tmp_path):
    out = example("data_dependency").stdout
    run = _run(studio, _printed(out, "Data_dependency_sample run:"))
    assert run["status"] == "Completed"
    assert [s["name"] for s in run["steps"]] == ["train.py", "extract.py", "compare.py"]
    assert "train read 41 lines" in out  # the DataReference reached the script as the file
    assert "compare: " in out and " of 40 survived" in out
    for name in ("processed_data1", "processed_data2", "processed_data3"):
        assert (
            f"\tname: {name}\n\tdatastore: workspaceblobstore\n\tpath on datastore: azureml/" in out
        )
    train = run["steps"][0]
    downloaded = (
        tmp_path / "data_dependency" / "outputs" / "azureml" / train["id"] / "processed_data1"
    )
    assert (downloaded / "train.csv").read_text().startswith("PassengerId,Survived")
    # The graph names the DataReference and the DataPath parameter as the inputs they are.
    graph = {s["name"]: s for s in run["graph"]["steps"]}
    compare = graph["compare.py"]
    assert {i["name"]: (i["datastore"], i["path"], i["parameter"]) for i in compare["inputs"]} == {
        "compare_data": ("", "", "compare_data"),
        "processed_data2": ("", "", ""),
    }
    train_inputs = graph["train.py"]["inputs"]
    assert [(i["name"], i["datastore"], i["path"]) for i in train_inputs] == [
        ("test_data", "workspaceblobstore", "titanic/Titanic.csv")
    ]


def test_publish_and_run_using_rest_endpoint(example, studio):
    out = example("publish_rest").stdout
    assert "REST run status: Finished" in out
    assert "REST run metrics: {'pipeline_arg': 45}" in out  # logged by a step on its parent
    rest_run = _run(studio, _printed(out, "Submitted pipeline run: "))
    assert rest_run["parameters"] == {"pipeline_arg": 45}
    assert rest_run["warnings"] == []
    sample = _run(studio, _printed(out, "Sample run:"))
    assert sample["status"] == "Completed"
    train = sample["steps"][0]
    log = studio.api("GET", f"steps/{train['id']}/log/").json()["data"]
    assert "input is a file: True" in log  # a one-file dataset is mounted as the file
    # the published pipeline made from a run that had not finished yet
    published = studio.api("GET", f"publishedpipelines/{_printed(out, 'Published from a run:')}/")
    assert published.json()["source_run"] == sample["id"]
    assert published.json()["continue_on_step_failure"] is True
    # register_on_complete: one dataset version per run of the compare step
    versions = studio.api("GET", "datasets/", params={"name": "compare_result"}).json()
    assert len(versions) >= 2
    # the https dataset was saved for the runs, and read by the worker from the web server
    inputs = next(i for i in sample["graph"]["steps"] if i["name"] == "train.py")["inputs"]
    dataset = studio.api("GET", f"datasets/{inputs[0]['dataset']}/").json()
    assert dataset["paths"][0][0].startswith("http://127.0.0.1:")


def test_datapath_and_pipeline_parameter(example, studio):
    out = example("datapath_param").stdout
    first, overridden, via_rest = out.split("Runs: ", 1)[1].split()[:3]
    for run_id, n in [(first, 1), (overridden, 2), (via_rest, 3)]:
        run = _run(studio, run_id)
        assert run["status"] == "Completed"
        log = studio.api("GET", f"steps/{run['steps'][0]['id']}/log/").json()["data"]
        assert f"Sample string argument  : sample_string{n}" in log
        assert f"Files at the datapath: ['sample_datapath{n}.txt']" in log
    assert _run(studio, via_rest)["parameters"]["input_datapath"] == {
        "datastore": "workspaceblobstore",
        "path": "sample_datapath3",
    }
    assert "Schedule status: Disabled" in out
    schedules = studio.api("GET", "schedules/", params={"active_only": "false"}).json()
    created = [s for s in schedules if s["name"] == "Datastore_trigger_schedule"]
    assert created and created[0]["data_path_parameter_name"] == "input_datapath"


def test_dataset_and_pipeline_parameter(example, studio):
    out = example("dataset_param").stdout
    default, overridden, published, via_rest = out.split("Runs: ", 1)[1].split()[:4]
    expected = {
        default: ("PassengerId,Survived,Pclass,Sex,Age,Fare", "rows: 40"),
        overridden: ("sepal_length,sepal_width,petal_length,petal_width,species", "rows: 30"),
        published: ("sepal_length,sepal_width,petal_length,petal_width,species", "rows: 30"),
        via_rest: ("sepal_length,sepal_width,petal_length,petal_width,species", "rows: 30"),
    }
    for run_id, (header, rows) in expected.items():
        run = _run(studio, run_id)
        assert run["status"] == "Completed", run_id
        log = studio.api("GET", f"steps/{run['steps'][0]['id']}/log/").json()["data"]
        assert header in log  # the one-file FileDataset, mounted as the file itself
        assert rows in log  # the TabularDataset, read with to_pandas_dataframe()
    rest_run = _run(studio, via_rest)
    assert rest_run["parameters"]["file_ds_param"]["kind"] == "file"
    assert rest_run["parameters"]["tabular_ds_param"]["kind"] == "tabular"


def test_schedules_for_a_published_pipeline_and_an_endpoint(example):
    out = example("schedules").stdout
    assert re.search(r"Disabled schedule \S+\. New status is: Disabled", out)
    assert re.search(r"Enabled schedule \S+\. New status is: Active", out)
    assert "New name: My_Updated_Schedule \nNew frequency: Hour \nNew status: Active" in out
    assert re.search(r"Got all schedules for pipeline endpoint: \S+ Count: 1", out)
    assert "Schedules for the pipeline: 2" in out  # the recurrence and the data-change one


def test_versioned_pipeline_endpoints(example, studio):
    out = example("versioned_endpoints").stdout
    assert "Default version: 0" in out
    versions = re.findall(r"^(\d)\n([0-9a-f-]{36})$", out, re.MULTILINE)
    assert [v for v, _ in versions] == ["0", "1"]
    endpoint = [e for e in studio.api("GET", "pipelineendpoints/").json() if e["name"] == "NewName"]
    assert endpoint and endpoint[0]["default_version"] == "1"  # set_default(published_pipeline)
    assert re.search(
        r"^http://127\.0\.0\.1:\d+/pipelines/v1\.0/PipelineRuns/PipelineEndpointSubmit/"
        r"Name\?name=NewName&pipelineVersion=0$",
        out,
        re.MULTILINE,
    )
    # Azure ignores assignments to parameters the pipeline lacks; Studio says so.
    rest_run = _run(studio, _printed(out, "Submitted pipeline run: "))
    assert rest_run["warnings"] == [
        "Pipeline parameter 1 does not exist in this pipeline; its value was ignored.",
        "Pipeline parameter 2 does not exist in this pipeline; its value was ignored.",
    ]
    assert "Warnings: ['Pipeline parameter 1 does not exist" in out
    assert rest_run["published_pipeline"] == versions[0][1]  # version 0, by name
    tagged = _run(studio, _printed(out, "Tagged run:"))
    assert tagged["tags"] == {"endpoint_tag": "1"}
    assert tagged["published_pipeline"] == versions[0][1]
    assert "Tagged run status: Finished" in out


def test_pipeline_drafts(example, studio):
    out = example("pipeline_drafts").stdout
    assert "Pipeline(Name: TestPipelineDraft,\nId: " in out  # list(tags=...) printed it
    assert "Tags: {'dev': 'true'},\nProperties: {'train': 'value'}," in out
    run_id = re.search(r"PipelineRun\(Experiment: helloworld, Id: (\S+), Type:", out).group(1)
    published = re.search(r"PublishedPipeline\(Name: UpdatedPipelineDraft, Id: (\S+),", out)
    ws = studio.workspace()
    status = PipelineRun.get(ws, run_id).wait_for_completion(show_output=False)
    assert status == "Finished"
    run = _run(studio, run_id)
    assert [s["name"] for s in run["steps"]] == ["New_Training_Step"]
    assert run["continue_on_step_failure"] is True and run["tags"] == {"dev": "true"}
    drafts = [d for d in studio.api("GET", "pipelinedrafts/").json() if run_id in d["run_ids"]]
    assert len(drafts) == 1
    draft = drafts[0]
    assert (draft["name"], draft["description"]) == (
        "UpdatedPipelineDraft",
        "has updated train step",
    )
    assert draft["last_submitted_pipeline_run_id"] == run_id
    assert draft["step_names"] == ["New_Training_Step"]
    pipeline = studio.api("GET", f"publishedpipelines/{published.group(1)}/").json()
    assert pipeline["step_names"] == ["New_Training_Step"] and pipeline["status"] == "Active"


def test_notebook_runner_step(example, studio, tmp_path):
    out = example("notebook_runner").stdout
    assert "Notebook Run Config is created." in out and "Notebook Runner Step is Created." in out
    run = _run(studio, _printed(out, "Notebook_runner run:"))
    assert run["status"] == "Completed", run
    # The notebook step's input pulled the script step that produces it into the pipeline.
    assert [s["name"] for s in run["steps"]] == ["train.py", "training_notebook_step"]
    notebook_step = run["steps"][1]
    # get_output_data('notebook_result').download(source_directory): the executed notebook
    downloaded = (
        tmp_path
        / "notebook_runner"
        / "notebook_runner"
        / "azureml"
        / notebook_step["id"]
        / "notebook_result"
        / "training_notebook.output.ipynb"
    )
    executed = json.loads(downloaded.read_text())
    printed = "".join(
        "".join(o.get("text", ""))
        for cell in executed["cells"]
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    assert "arg1: Machine Learning" in printed  # NotebookRunConfig(parameters=...)
    assert "pipeline_parameter: my_param" in printed  # params={...: PipelineParameter}
    processed = re.search(r"^input from previous step: (\S+)$", printed, re.MULTILINE)
    assert processed and processed.group(1).endswith("/processed_data")
    made = re.search(r"^output from notebook: (\S+)$", printed, re.MULTILINE)
    assert made and f"{made.group(1)} created" in printed
    # log_output=True: the cells' output is in the step's log too
    log = studio.api("GET", f"steps/{notebook_step['id']}/log/").json()["data"]
    assert "arg1: Machine Learning" in log, log[-3000:]


def test_module_steps(example, studio):
    out = example("modulestep").stdout
    run = _run(studio, _printed(out, "Module steps run:"))
    assert run["status"] == "Completed"
    # One module, three steps: version 1 given as a ModuleVersion, the default (2), and 2 named.
    assert [s["module"]["version"] for s in run["steps"]] == ["1", "2", "2"]
    assert [s["name"] for s in run["steps"]] == ["AddAndMultiply"] * 3
    for version in ("1", "2", "2"):
        assert f"AddAndMultiply version {version}: Finished" in out
    logs = [studio.api("GET", f"steps/{s['id']}/log/").json()["data"] for s in run["steps"]]
    assert "results: sum: 19 , product: 34" in logs[0]  # initialNum=17 and 2
    assert "results: sum: 53 , product: 646" in logs[1]  # read from the first step's files
    assert "results: sum: 699 , product: 34238" in logs[2]
    # The middle step's inputs are named by the module's ports.
    graph = run["graph"]["steps"]
    assert [i["name"] for i in graph[1]["inputs"]] == ["in1", "in2"]


def test_parallel_run_step_on_a_tabular_dataset(example, studio):
    """tabular-dataset-inference-iris: a registered TabularDataset scored by a ParallelRunStep
    with a registered model, its rows appended to iris_outputs.txt."""
    out = example("parallel_run_iris", timeout=600).stdout
    run = _run(studio, _printed(out, "Iris run:"))
    assert run["status"] == "Completed", run
    assert "Prediction has  30  rows" in out
    varieties = out.split("Varieties: ", 1)[1].splitlines()[0]
    predicted = {int(v) for v in varieties.strip("[]").split(",")}
    assert predicted <= {0, 1, 2} and len(predicted) >= 2  # the three species, numbered
    log = studio.api("GET", f"steps/{run['steps'][0]['id']}/log/").json()["data"]
    assert "1 mini-batches: 1 done, 0 failed, 0 retried; 30 items" in log


def test_parallel_run_step_on_a_file_dataset_of_mnist_digits(example, studio):
    """file-dataset-image-inference-mnist: a FileDataset of PNG digits, given as a pipeline
    parameter, scored image by image with a registered model, one line per image appended to
    mnist_outputs.txt; then resubmitted on a single image with other parameter values."""
    out = example("parallel_run_mnist", timeout=600).stdout
    run = _run(studio, _printed(out, "Digit identification run:"))
    assert run["status"] == "Completed", run
    assert "Prediction has  50  rows" in out
    predictions = ast.literal_eval(out.split("Predictions: ", 1)[1].splitlines()[0])
    assert sorted(predictions) == sorted(f"{n}.png" for n in range(50))
    right = [name for name, digit in predictions.items() if digit == int(name[:-4]) % 10]
    assert len(right) >= 45, predictions  # image N.png shows the digit N % 10
    log = studio.api("GET", f"steps/{run['steps'][0]['id']}/log/").json()["data"]
    assert "10 mini-batches: 10 done, 0 failed, 0 retried; 50 items" in log, log[-3000:]

    single = _run(studio, _printed(out, "Single image run:"))
    assert single["status"] == "Completed", single
    assert single["parameters"]["mnist_param"]["kind"] == "file", single["parameters"]
    assert single["parameters"]["batch_size_param"] == "1"
    assert single["parameters"]["process_count_param"] == 1
    log = studio.api("GET", f"steps/{single['steps'][0]['id']}/log/").json()["data"]
    assert "1 mini-batches: 1 done, 0 failed, 0 retried; 1 items" in log, log[-3000:]
