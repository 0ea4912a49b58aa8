"""How to create Module, ModuleVersion, and use them in a pipeline with ModuleStep, with the
import prefix changed."""

from studio.sdk.core import Datastore, Experiment, RunConfiguration, Workspace
from studio.sdk.core.compute import AmlCompute, ComputeTarget
from studio.sdk.pipeline.core import Pipeline, PipelineData, PipelineParameter
from studio.sdk.pipeline.core.graph import InputPortDef, OutputPortDef
from studio.sdk.pipeline.core.module import Module
from studio.sdk.pipeline.steps import ModuleStep

workspace = Workspace.from_config()
print(workspace.name, workspace.resource_group, workspace.location, workspace.subscription_id, sep="\n")

from studio.sdk.core.compute_target import ComputeTargetException

aml_compute_target = "cpu-cluster"
try:
    aml_compute = AmlCompute(workspace, aml_compute_target)
    print(f"Found existing compute target: {aml_compute_target}")
except ComputeTargetException:
    print(f"Creating new compute target: {aml_compute_target}")

    provisioning_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", min_nodes=1, max_nodes=4
    )
    aml_compute = ComputeTarget.create(workspace, aml_compute_target, provisioning_config)
    aml_compute.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)

datastore = Datastore(workspace=workspace, name="workspaceblobstore")

# Create a Module
module = Module.create(workspace, name="AddAndMultiply", description="A module that adds and multiplies")

# The entry version: no input ports, two output ports
out_sum = OutputPortDef(
    name="out_sum",
    default_datastore_name=datastore.name,
    default_datastore_mode="mount",
    label="Sum of two numbers",
)
out_prod = OutputPortDef(
    name="out_prod",
    default_datastore_name=datastore.name,
    default_datastore_mode="mount",
    label="Product of two numbers",
)
entry_version = module.publish_python_script(
    "calculate.py",
    "initial",
    inputs=[],
    outputs=[out_sum, out_prod],
    params={"initialNum": 12},
    version="1",
    source_directory="./calc",
)

# The middle/end version: two input ports and two output ports, the module's default
in1_mid = InputPortDef(
    name="in1",
    default_datastore_mode="mount",
    default_data_reference_name=datastore.name,
    label="First input number",
)
in2_mid = InputPortDef(
    name="in2",
    default_datastore_mode="mount",
    default_data_reference_name=datastore.name,
    label="Second input number",
)
out_sum_mid = OutputPortDef(
    name="out_sum",
    default_datastore_name=datastore.name,
    default_datastore_mode="mount",
    label="Sum of two numbers",
)
out_prod_mid = OutputPortDef(
    name="out_prod",
    default_datastore_name=datastore.name,
    default_datastore_mode="mount",
    label="Product of two numbers",
)
module.publish_python_script(
    "calculate.py",
    "middle",
    inputs=[in1_mid, in2_mid],
    outputs=[out_sum_mid, out_prod_mid],
    version="2",
    is_default=True,
    source_directory="./calc",
)

# First step and its wires: the entry version, given as a ModuleVersion
first_sum = PipelineData("sum_out", datastore=datastore, output_mode="mount", is_directory=False)
first_prod = PipelineData("prod_out", datastore=datastore, output_mode="mount", is_directory=False)
step_output_wiring = {"out_sum": first_sum, "out_prod": first_prod}

first_num_param = PipelineParameter(name="initialNum", default_value=17)
first_step = ModuleStep(
    module_version=entry_version,
    inputs_map={},
    outputs_map=step_output_wiring,
    runconfig=RunConfiguration(),
    compute_target=aml_compute,
    arguments=["--output_sum", first_sum, "--output_product", first_prod, "--arg_num1", first_num_param, "--arg_num2", "2"],
)

# Middle step: the Module, resolved to its default version
middle_step_input_wiring = {"in1": first_sum, "in2": first_prod}
middle_sum = PipelineData("middle_sum", datastore=datastore, output_mode="mount", is_directory=False)
middle_prod = PipelineData("middle_prod", datastore=datastore, output_mode="mount", is_directory=False)
middle_step_output_wiring = {"out_sum": middle_sum, "out_prod": middle_prod}

middle_step = ModuleStep(
    module=module,
    inputs_map=middle_step_input_wiring,
    outputs_map=middle_step_output_wiring,
    runconfig=RunConfiguration(),
    compute_target=aml_compute,
    arguments=["--file_num1", first_sum, "--file_num2", first_prod, "--output_sum", middle_sum, "--output_product", middle_prod],
)

# End step: the exact version
last_step_input_wiring = {"in1": middle_sum, "in2": middle_prod}
end_sum = PipelineData("end_sum", datastore=datastore, output_mode="mount", is_directory=False)
end_prod = PipelineData("end_prod", datastore=datastore, output_mode="mount", is_directory=False)
last_step_output_wiring = {"out_sum": end_sum, "out_prod": end_prod}

end_step = ModuleStep(
    module=module,
    version="2",
    inputs_map=last_step_input_wiring,
    outputs_map=last_step_output_wiring,
    runconfig=RunConfiguration(),
    compute_target=aml_compute,
    arguments=["--file_num1", middle_sum, "--file_num2", middle_prod, "--output_sum", end_sum, "--output_product", end_prod],
)

# Pipeline, experiment, submission
pipeline = Pipeline(workspace=workspace, steps=[first_step, middle_step, end_step])

experiment = Experiment(workspace, "testmodulestesp")
pipeline_run = experiment.submit(pipeline)

# Follow the run to its end, as the studio would show it
pipeline_run.wait_for_completion(show_output=False)
print("Module steps run:", pipeline_run.id)
for step_run in pipeline_run.get_steps():
    module_ran = step_run.get_details()["module"]
    print(f"{step_run.name} version {module_ran['version']}: {step_run.get_status()}")
