"""Forms: publish a run, submit a published pipeline with typed parameters, create a token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from pipelines.models import PipelineEndpoint, PublishedPipeline
from studio.core.errors import StudioError
from studio.core.names import EXPERIMENT_NAME, EXPERIMENT_NAME_MESSAGE
from studio.core.parameters import coerce
from studio.workspace import roles
from studio.workspace.models import ApiToken, Dataset
from studio.workspace.services import ANONYMOUS_PREFIX


class PublishForm(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.CharField(max_length=64, required=False)
    continue_on_step_failure = forms.BooleanField(required=False, label="Continue on step failure")


class DraftPublishForm(forms.Form):
    """Publish a draft: the published pipeline's name (the draft's by default) and version."""

    name = forms.CharField(max_length=255)
    description = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.CharField(max_length=64, required=False)


class SubmitForm(forms.Form):
    """An experiment name plus one typed field per pipeline parameter, prefilled with its default."""

    experiment_name = forms.RegexField(
        EXPERIMENT_NAME,
        max_length=255,
        error_messages={"invalid": EXPERIMENT_NAME_MESSAGE},
    )
    description = forms.CharField(max_length=1000, required=False)

    def __init__(self, parameters: list[dict], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parameters = {p["name"]: p for p in parameters}
        for p in parameters:
            label = f"{p['name']} ({p['type']})"
            if p["type"] == "bool":
                field = forms.TypedChoiceField(
                    label=label,
                    choices=[("True", "True"), ("False", "False")],
                    initial=str(p["default"]),
                )
            elif p["type"] == "dataset":
                field = forms.ChoiceField(
                    label=f"{p['name']} ({_DATASET_CLASSES[p['default']['kind']]})",
                    choices=_dataset_choices(p["default"]),
                    initial=p["default"]["id"],
                )
            elif p["type"] == "datapath":
                field = forms.CharField(
                    label=label,
                    initial=f"{p['default']['datastore']}/{p['default']['path']}",
                    help_text="datastore/path",
                )
            else:
                # Text inputs (not type=number) keep a refused value in view next to its error.
                attrs = (
                    {"inputmode": "numeric" if p["type"] == "int" else "decimal"}
                    if p["type"] in ("int", "float")
                    else {}
                )
                field = forms.CharField(
                    label=label,
                    initial=str(p["default"]),
                    widget=forms.TextInput(attrs=attrs),
                    strip=False,
                )
            self.fields[f"param_{p['name']}"] = field

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        values = {}
        for name, p in self.parameters.items():
            raw = cleaned.get(f"param_{name}")
            if raw is None:
                continue
            if p["type"] == "datapath":
                store, _, path = str(raw).partition("/")
                raw = {"datastore": store, "path": path}
            try:
                values[name] = coerce(name, p["type"], raw, p["default"])
            except StudioError as exc:
                self.add_error(f"param_{name}", str(exc))
        cleaned["parameters"] = values
        return cleaned

    def param_fields(self) -> list[forms.BoundField]:
        return [self[f"param_{name}"] for name in self.parameters]


def field_value(value: Any) -> str:
    """A parameter value (a run's, a draft's) as the Submit form's field holds it."""
    if isinstance(value, dict) and "id" in value:
        return str(value["id"])
    if isinstance(value, dict):
        return f"{value['datastore']}/{value['path']}"
    return str(value)


_DATASET_CLASSES = {"file": "FileDataset", "tabular": "TabularDataset"}


def _dataset_choices(default: dict) -> list[tuple[str, str]]:
    """The default dataset, then every registered version of the same kind (newest first)."""
    choices = []
    current = Dataset.objects.filter(id=default["id"]).first()
    if current is not None:
        label = (
            "default"
            if current.name.startswith(ANONYMOUS_PREFIX)
            else f"{current.name}:{current.version} (default)"
        )
        choices.append((str(current.id), label))
    others = (
        Dataset.objects.filter(kind=default["kind"])
        .exclude(name__startswith=ANONYMOUS_PREFIX)
        .exclude(id=default["id"])
        .order_by("name", "-version")[:1000]
    )
    choices += [(str(d.id), f"{d.name}:{d.version}") for d in others]
    return choices


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    scope = forms.ChoiceField(choices=ApiToken.SCOPES, initial="submit")
    pipeline = forms.ModelChoiceField(
        PublishedPipeline.objects.all(),
        required=False,
        empty_label="Any published pipeline",
        help_text="Limit the token to submitting one published pipeline",
    )
    endpoint = forms.ModelChoiceField(
        PipelineEndpoint.objects.all(),
        required=False,
        empty_label="Any pipeline endpoint",
        help_text="Limit the token to submitting one pipeline endpoint",
    )
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, label="Expires in (days)"
    )

    def __init__(self, *args: Any, role: str | None = None, **kwargs: Any) -> None:
        """``role``: the account's; a token's scope is at most that."""
        super().__init__(*args, **kwargs)
        scopes = roles.up_to(role)
        self.fields["scope"].choices = [(s, s) for s in scopes]
        if self.fields["scope"].initial not in scopes:
            self.fields["scope"].initial = scopes[-1] if scopes else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("pipeline") and cleaned.get("endpoint"):
            raise forms.ValidationError("Limit a token to a pipeline or to an endpoint, not both.")
        return cleaned


COMMON_ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Australia/Sydney",
]


def _int_list(value: str, name: str) -> list[int]:
    if not value.strip():
        return []
    try:
        numbers = sorted({int(part) for part in value.replace(" ", "").split(",") if part})
    except ValueError:
        raise forms.ValidationError(
            f"{name} must be numbers separated by commas, like 6, 18"
        ) from None
    return numbers  # their range is the recurrence's rule (studio.core.recurrence)


class ScheduleForm(forms.Form):
    """Both kinds of schedule; parameter overrides are typed fields of the chosen pipeline."""

    name = forms.CharField(max_length=255)
    description = forms.CharField(max_length=5000, required=False)
    target = forms.ChoiceField(label="Pipeline")
    experiment_name = forms.RegexField(
        EXPERIMENT_NAME,
        max_length=255,
        error_messages={"invalid": EXPERIMENT_NAME_MESSAGE},
    )
    kind = forms.ChoiceField(
        choices=[("recurrence", "On a recurrence"), ("datastore", "When data changes")],
        widget=forms.RadioSelect,
        initial="recurrence",
    )
    frequency = forms.ChoiceField(
        choices=[(f, f) for f in ("Minute", "Hour", "Day", "Week", "Month")],
        initial="Day",
        required=False,
    )
    interval = forms.IntegerField(min_value=1, max_value=100000, initial=1, required=False)
    start_time = forms.DateTimeField(
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Wall clock of the time zone; empty: from now",
    )
    time_zone = forms.CharField(
        initial="UTC",
        required=False,
        widget=forms.TextInput(attrs={"list": "zones"}),
        help_text="IANA (Europe/Berlin) or Windows (W. Europe Standard Time)",
    )
    hours = forms.CharField(required=False, help_text="Day/Week: hours, like 6, 18")
    minutes = forms.CharField(required=False, help_text="Day/Week: minutes, like 0, 30")
    week_days = forms.MultipleChoiceField(
        choices=[
            (d, d[:3])
            for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        ],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    missed_policy = forms.ChoiceField(
        choices=[("latest", "Run once for the latest missed time"), ("skip", "Skip missed times")],
        initial="latest",
    )
    datastore = forms.ChoiceField(required=False)
    path_on_datastore = forms.CharField(required=False, max_length=1024)
    polling_interval = forms.FloatField(
        required=False, min_value=0.01, initial=5, help_text="Minutes; 0.1 is six seconds"
    )
    data_path_parameter_name = forms.ChoiceField(required=False, label="Pass the changed path to")
    include_subfolders = forms.BooleanField(required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        parameters: list[dict] | None = None,
        targets: Iterable[tuple[str, str]] = (),
        datastores: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = list(targets)
        self.fields["datastore"].choices = [(d, d) for d in datastores]
        self.parameters = {p["name"]: p for p in (parameters or [])}
        self.fields["data_path_parameter_name"].choices = [("", "(none)")] + [
            (p["name"], p["name"])
            for p in self.parameters.values()
            if p["type"] in ("datapath", "str")
        ]
        for p in self.parameters.values():
            self.fields[f"param_{p['name']}"] = forms.CharField(
                label=f"{p['name']} ({p['type']})",
                required=False,
                help_text=f"default {p['default']}"
                if p["type"] != "datapath"
                else "default " + f"{p['default']['datastore']}/{p['default']['path']}",
            )

    def recurrence(self) -> dict | None:
        data = self.cleaned_data
        if data.get("kind") != "recurrence":
            return None
        start = data.get("start_time")
        return {
            "frequency": data.get("frequency"),
            "interval": data.get("interval"),
            "start_time": start.replace(tzinfo=None).isoformat(timespec="seconds")
            if start
            else None,
            "time_zone": data.get("time_zone") or "UTC",
            "hours": data.get("hours_list") or None,
            "minutes": data.get("minutes_list") or None,
            "week_days": data.get("week_days") or None,
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("hours", "minutes"):
            try:
                cleaned[f"{name}_list"] = _int_list(cleaned.get(name) or "", name)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        overrides = {}
        for name, p in self.parameters.items():
            raw = (cleaned.get(f"param_{name}") or "").strip()
            if not raw:
                continue
            if p["type"] == "datapath":
                store, _, path = raw.partition("/")
                raw = {"datastore": store, "path": path}
            try:
                overrides[name] = coerce(name, p["type"], raw, p["default"])
            except StudioError as exc:
                self.add_error(f"param_{name}", str(exc))
        cleaned["pipeline_parameters"] = overrides
        if cleaned.get("kind") == "datastore" and not cleaned.get("datastore"):
            self.add_error("datastore", "Choose the datastore to watch.")
        return cleaned

    def param_fields(self) -> list[forms.BoundField]:
        return [self[f"param_{name}"] for name in self.parameters]
