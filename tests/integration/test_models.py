"""The model registry through the SDK, on a real worker: a training step registers a model, a
later step and another pipeline's scoring step load it by name, versions, filters, reuse."""

from __future__ import annotations

import pickle
import uuid

import pytest

from studio.sdk.core import Dataset, Experiment, Model
from studio.sdk.exceptions import ModelNotFoundException, WebserviceException
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.integration

# A training script as Microsoft's train-on-local example writes it: the model goes to
# ./outputs, then run.register_model names it there.
TRAIN = """
import argparse, os, pickle
from studio.sdk.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--model-name")
parser.add_argument("--weight", type=float)
args = parser.parse_args()

run = Run.get_context()
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.pkl", "wb") as fh:
    pickle.dump({"weight": args.weight}, fh)
run.log("weight", args.weight)
model = run.register_model(
    model_name=args.model_name,
    model_path="outputs/model.pkl",
    tags={"stage": "trained"},
    properties={"weight": str(args.weight)},
    description="a linear model",
)
print("registered", model.name, model.version, model.id)
"""

# A scoring script as the ParallelRunStep examples write their entry script: init() loads
# the model with Model.get_model_path, run() uses it.
SCORE = """
import argparse, os, pickle
from studio.sdk.core import Model, Run

parser = argparse.ArgumentParser()
parser.add_argument("--model-name")
parser.add_argument("--version", default="")
args = parser.parse_args()


def init():
    global model
    if args.version:
        model_path = Model.get_model_path(args.model_name, version=int(args.version))
    else:
        model_path = Model.get_model_path(args.model_name)
    print("model path", model_path)
    with open(model_path, "rb") as fh:
        model = pickle.load(fh)


def run(mini_batch):
    return [x * model["weight"] for x in mini_batch]


init()
result = run([1, 2, 3])
Run.get_context().log("score", result[-1])
print("scored", result)
"""


@pytest.fixture
def sources(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.py").write_text(TRAIN)
    (tmp_path / "score").mkdir()
    (tmp_path / "score" / "score.py").write_text(SCORE)
    return tmp_path


def _train(sources, name, weight, score_too=True):
    train = PythonScriptStep(
        name="train",
        script_name="train.py",
        source_directory=str(sources / "train"),
        arguments=["--model-name", name, "--weight", weight],
        allow_reuse=False,
    )
    steps = [train]
    if score_too:
        score = PythonScriptStep(
            name="score in training",
            script_name="score.py",
            source_directory=str(sources / "score"),
            arguments=["--model-name", name],
            allow_reuse=False,
        )
        score.run_after(train)
        steps.append(score)
    return steps


def _score(sources, name, version="", allow_reuse=True):
    return PythonScriptStep(
        name="score",
        script_name="score.py",
        source_directory=str(sources / "score"),
        arguments=["--model-name", name, "--version", version],
        allow_reuse=allow_reuse,
    )


def _metric(run, step_name, metric):
    step = next(s for s in run.get_steps() if s.name == step_name)
    return step.get_metrics()[metric]


def _completed(run):
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished", [
        (s.name, s.get_status(), s.get_details().get("error")) for s in run.get_steps()
    ]
    return run


def test_a_training_step_registers_a_model_that_later_steps_and_pipelines_load(ws, studio, sources):
    name = f"churn-{uuid.uuid4().hex[:6]}"
    exp = Experiment(ws, f"models-{uuid.uuid4().hex[:6]}")
    first = _completed(exp.submit(Pipeline(ws, _train(sources, name, 2.0))))
    assert _metric(first, "score in training", "score") == 6.0

    model = Model(ws, name=name)
    assert (model.name, model.version, model.id) == (name, 1, f"{name}:1")
    assert model.tags == {"stage": "trained"}
    assert model.properties == {"weight": "2.0"}
    assert model.description == "a linear model"
    assert model.experiment_name == exp.name
    train_step = next(s for s in first.get_steps() if s.name == "train")
    assert model.run_id == train_step.id
    assert Model.list(ws, run_id=first.id)[0].id == model.id

    # Another pipeline's scoring step loads it by name.
    scoring = Experiment(ws, f"scoring-{uuid.uuid4().hex[:6]}")
    scored = _completed(scoring.submit(Pipeline(ws, [_score(sources, name)])))
    assert _metric(scored, "score", "score") == 6.0
    # The worker keeps one copy per host; a copy that no longer matches the manifest is
    # fetched again before a step uses it.
    cached = studio.data_dir / "cache" / "models" / name / "1" / "model.pkl"
    assert pickle.loads(cached.read_bytes()) == {"weight": 2.0}
    cached.write_bytes(pickle.dumps({"weight": 1000.0}))

    # A second version: latest moves, a pinned version stays.
    _completed(exp.submit(Pipeline(ws, _train(sources, name, 10.0, score_too=False))))
    assert Model(ws, name=name).version == 2
    assert [m.version for m in Model.list(ws, name=name)] == [2, 1]
    latest = _completed(scoring.submit(Pipeline(ws, [_score(sources, name, allow_reuse=False)])))
    assert _metric(latest, "score", "score") == 30.0
    pinned = _completed(
        scoring.submit(Pipeline(ws, [_score(sources, name, version="1", allow_reuse=False)]))
    )
    assert _metric(pinned, "score", "score") == 6.0
    assert pickle.loads(cached.read_bytes()) == {"weight": 2.0}


def test_a_step_that_read_latest_runs_again_when_a_newer_version_exists(ws, sources, tmp_path):
    name = f"churn-model-{uuid.uuid4().hex[:6]}"
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"weight": 3.0}))
    register_from = tmp_path / "register"
    register_from.mkdir()
    (register_from / "model.pkl").write_bytes(pickle.dumps({"weight": 3.0}))
    import os

    cwd = os.getcwd()
    os.chdir(register_from)
    try:
        first = Model.register(ws, model_path="model.pkl", model_name=name)
    finally:
        os.chdir(cwd)
    assert first.version == 1

    exp = Experiment(ws, f"churn-{uuid.uuid4().hex[:6]}")
    pinned_exp = Experiment(ws, f"pinned-{uuid.uuid4().hex[:6]}")
    one = _completed(exp.submit(Pipeline(ws, [_score(sources, name)])))
    assert _metric(one, "score", "score") == 9.0
    pinned_one = _completed(pinned_exp.submit(Pipeline(ws, [_score(sources, name, "1")])))

    again = _completed(exp.submit(Pipeline(ws, [_score(sources, name)])))
    assert again.get_steps()[0].get_details()["reuse"]["reused"] is True

    (register_from / "model.pkl").write_bytes(pickle.dumps({"weight": 4.0}))
    os.chdir(register_from)
    try:
        Model.register(ws, model_path="model.pkl", model_name=name)
    finally:
        os.chdir(cwd)

    churned = _completed(exp.submit(Pipeline(ws, [_score(sources, name)])))
    reuse = churned.get_steps()[0].get_details()["reuse"]
    assert reuse["reused"] is False
    assert reuse["reason"] == f"model {name}: 1 → 2"
    assert _metric(churned, "score", "score") == 12.0

    # A pinned version is reused as usual.
    pinned_again = _completed(pinned_exp.submit(Pipeline(ws, [_score(sources, name, "1")])))
    assert pinned_again.get_steps()[0].get_details()["reuse"]["reused"] is True
    assert pinned_one.id != pinned_again.id


def test_tags_properties_and_list_filters(ws, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model_dir").mkdir()
    (tmp_path / "model_dir" / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (tmp_path / "model_dir" / "config.json").write_text('{"layers": 2}')
    name = f"filters-{uuid.uuid4().hex[:6]}"
    a = Model.register(
        ws,
        model_path="model_dir",
        model_name=name,
        tags={"area": "churn", "type": "forest"},
        properties={"auc": "0.9"},
        model_framework="ScikitLearn",
        model_framework_version="1.5.0",
    )
    assert f"Registering model {name}" in capsys.readouterr().out
    b = Model.register(ws, model_path="model_dir", model_name=name, tags={"area": "fraud"})
    assert (a.version, b.version) == (1, 2)
    assert a.model_framework == "ScikitLearn"

    assert [m.version for m in Model.list(ws, name=name, tags=["area"])] == [2, 1]
    assert [m.version for m in Model.list(ws, name=name, tags=[["area", "churn"]])] == [1]
    assert [m.version for m in Model.list(ws, name=name, tags=["type"])] == [1]
    assert [m.version for m in Model.list(ws, name=name, properties=[["auc", "0.9"]])] == [1]
    assert [m.version for m in Model.list(ws, name=name, latest=True)] == [2]
    assert name in {m.name for m in Model.list(ws, latest=True)}

    a.add_tags({"stage": "prod"})
    a.remove_tags(["type"])
    a.add_properties({"f1": "0.8"})
    fresh = Model(ws, id=f"{name}:1")
    assert fresh.tags == {"area": "churn", "stage": "prod"}
    assert fresh.properties == {"auc": "0.9", "f1": "0.8"}
    fresh.update(description="the first forest")
    assert Model(ws, name=name, version=1).description == "the first forest"
    with pytest.raises(WebserviceException, match="properties can only be added"):
        fresh.add_properties({"auc": "0.1"})

    # download: the folder, with its files; again into the same place needs exist_ok.
    target = tmp_path / "downloaded"
    path = b.download(str(target))
    assert path == str(target / "model_dir")
    assert (target / "model_dir" / "weights.bin").read_bytes() == b"\x00\x01" * 100
    with pytest.raises(WebserviceException, match=r"File already exists\. To overwrite"):
        b.download(str(target))
    assert b.download(str(target), exist_ok=True) == str(target / "model_dir")

    # get_model_path on a laptop: downloads into azureml-models/<name>/<version>/.
    assert Model.get_model_path(name, _workspace=ws) == f"azureml-models/{name}/2/model_dir"
    assert (tmp_path / "azureml-models" / name / "2" / "model_dir" / "config.json").is_file()
    assert Model.get_model_path(name) == f"azureml-models/{name}/2/model_dir"
    with pytest.raises(ModelNotFoundException, match="Model/Version nope/None not found"):
        Model.get_model_path("nope", _workspace=ws)

    # The datasets a model was trained on.
    datastore = ws.get_default_datastore()
    datastore.upload_files(
        [str(tmp_path / "model_dir" / "config.json")],
        target_path=f"models-test/{name}",
        overwrite=True,
        show_progress=False,
    )
    training = Dataset.File.from_files(
        path=(datastore, f"models-test/{name}/config.json")
    ).register(ws, f"{name}-data")
    c = Model.register(ws, "model_dir", name, datasets=[("training", training)])
    assert c.datasets == {"training": [training.id]}
    assert [m.version for m in Model.list(ws, dataset_id=training.id)] == [c.version]
    c.delete()

    b.delete()
    assert [m.version for m in Model.list(ws, name=name)] == [1]
    with pytest.raises(
        WebserviceException, match=f"ModelNotFound: Model with name {name}, version 2"
    ):
        Model(ws, name=name, version=2)


def test_register_model_names_the_run_files_when_the_path_is_not_among_them(ws, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "t.py").write_text(
        "import os\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/a.txt','w').write('a')\n"
    )
    exp = Experiment(ws, f"paths-{uuid.uuid4().hex[:6]}")
    run = _completed(
        exp.submit(
            Pipeline(
                ws, [PythonScriptStep(script_name="t.py", source_directory=str(tmp_path / "s"))]
            )
        )
    )
    step = run.get_steps()[0]
    model = step.register_model("from-a", model_path="outputs/a.txt")
    assert model.version >= 1
    from studio.sdk.exceptions import ModelPathNotFoundException

    with pytest.raises(ModelPathNotFoundException) as caught:
        step.register_model("missing", model_path="outputs/model.pkl")
    assert caught.value.message.startswith(
        "Could not locate the provided model_path outputs/model.pkl in the set of files "
        "uploaded to the run: ["
    )
    assert "outputs/a.txt" in caught.value.message
    assert caught.value.message.endswith("See https://aka.ms/run-logging for more details.")


# intro-to-pipelines/register_model.py, import prefix changed: a step copies the model an
# earlier step saved into ./model/ and registers that folder with Model.register.
REGISTER = """
import argparse
import json
import os
from studio.sdk.core import Workspace, Experiment, Model
from studio.sdk.core import Run
from shutil import copy2

parser = argparse.ArgumentParser()
parser.add_argument('--saved-model', type=str, dest='saved_model', help='path to saved model file')
parser.add_argument('--model-name', type=str, dest='model_name')
args = parser.parse_args()

model_output_dir = './model/'

os.makedirs(model_output_dir, exist_ok=True)
copy2(os.path.join(args.saved_model, 'model.pkl'), model_output_dir)

ws = Run.get_context().experiment.workspace

model = Model.register(workspace=ws, model_name=args.model_name, model_path=model_output_dir)
"""

SAVE = """
import argparse, os, pickle
parser = argparse.ArgumentParser()
parser.add_argument('--out')
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, 'model.pkl'), 'wb') as fh:
    pickle.dump({'weight': 5.0}, fh)
"""

LOAD_FOLDER = """
import argparse, os, pickle
from studio.sdk.core import Model, Run
parser = argparse.ArgumentParser()
parser.add_argument('--model-name')
args = parser.parse_args()
model_dir = Model.get_model_path(args.model_name)
with open(os.path.join(model_dir, 'model.pkl'), 'rb') as fh:
    model = pickle.load(fh)
Run.get_context().log('folder', os.path.basename(model_dir))
Run.get_context().log('weight', model['weight'])
"""


def test_a_step_registers_a_folder_with_model_register_as_the_intro_example(ws, tmp_path):
    from studio.sdk.data import OutputFileDatasetConfig

    for name, text in {"save": SAVE, "register": REGISTER, "load": LOAD_FOLDER}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.py").write_text(text)
    model_name = f"tf-dnn-mnist-{uuid.uuid4().hex[:6]}"
    saved = OutputFileDatasetConfig("saved_model")
    save = PythonScriptStep(
        name="save",
        script_name="save.py",
        source_directory=str(tmp_path / "save"),
        arguments=["--out", saved],
    )
    register = PythonScriptStep(
        name="register",
        script_name="register.py",
        source_directory=str(tmp_path / "register"),
        arguments=["--saved-model", saved.as_input("saved"), "--model-name", model_name],
        allow_reuse=False,
    )
    load = PythonScriptStep(
        name="load",
        script_name="load.py",
        source_directory=str(tmp_path / "load"),
        arguments=["--model-name", model_name],
        allow_reuse=False,
    )
    load.run_after(register)
    run = _completed(
        Experiment(ws, f"intro-{uuid.uuid4().hex[:6]}").submit(Pipeline(ws, [save, register, load]))
    )
    assert _metric(run, "load", "folder") == "model"
    assert _metric(run, "load", "weight") == 5.0
    model = Model(ws, name=model_name)
    register_step = next(s for s in run.get_steps() if s.name == "register")
    assert model.run_id == register_step.id
    assert [f["path"] for f in model._files] == ["model/model.pkl"]


def test_models_live_on_the_default_datastore_when_it_is_an_object_store(
    ws, s3, sources, tmp_path, monkeypatch
):
    tag = uuid.uuid4().hex[:6]
    datastore = s3.register(ws, f"models{tag}")
    previous = ws.get_default_datastore().name
    ws.set_default_datastore(datastore.name)
    try:
        monkeypatch.chdir(tmp_path)
        (tmp_path / "model.pkl").write_bytes(pickle.dumps({"weight": 0.5}))
        name = f"on-s3-{tag}"
        model = Model.register(ws, "model.pkl", name)
        assert model._data["datastore"] == datastore.name
        assert model.download(str(tmp_path / "out")) == str(tmp_path / "out" / "model.pkl")
        assert pickle.loads((tmp_path / "out" / "model.pkl").read_bytes()) == {"weight": 0.5}
        run = _completed(
            Experiment(ws, f"s3-models-{tag}").submit(Pipeline(ws, [_score(sources, name)]))
        )
        assert _metric(run, "score", "score") == 1.5
    finally:
        ws.set_default_datastore(previous)
