"""Forms: publish a run, submit a published pipeline with typed parameters, create a token."""

from __future__ import annotations

from django import forms

from pipelines.models import PipelineEndpoint, PublishedPipeline
from pipelines.parameters import ParameterError, coerce
from studio.models import ApiToken
from studio.sdk.spec import EXPERIMENT_NAME


class PublishForm(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.CharField(max_length=64, required=False)
    continue_on_step_failure = forms.BooleanField(required=False, label="Continue on step failure")


class SubmitForm(forms.Form):
    """An experiment name plus one typed field per pipeline parameter, prefilled with its default."""

    experiment_name = forms.RegexField(
        EXPERIMENT_NAME,
        max_length=255,
        error_messages={
            "invalid": "Use letters, digits, '_' and '-', starting with a letter or digit."
        },
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
            elif p["type"] == "datapath":
                field = forms.CharField(
                    label=label,
                    initial=f"{p['default']['datastore']}/{p['default']['path']}",
                    help_text="datastore/path",
                )
            else:
                attrs = {"inputmode": "decimal"} if p["type"] in ("int", "float") else {}
                if p["type"] == "int":
                    attrs = {"type": "number", "step": "1"}
                elif p["type"] == "float":
                    attrs = {"type": "number", "step": "any"}
                field = forms.CharField(
                    label=label,
                    initial=str(p["default"]),
                    widget=forms.TextInput(attrs=attrs),
                    strip=False,
                )
            self.fields[f"param_{p['name']}"] = field

    def clean(self):
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
            except ParameterError as exc:
                self.add_error(f"param_{name}", str(exc))
        cleaned["parameters"] = values
        return cleaned

    def param_fields(self):
        return [self[f"param_{name}"] for name in self.parameters]


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

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("pipeline") and cleaned.get("endpoint"):
            raise forms.ValidationError("Limit a token to a pipeline or to an endpoint, not both.")
        return cleaned
