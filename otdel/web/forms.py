"""Form base for every page: Bootstrap classes on widgets and service errors shown on their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from otdel.core.exceptions import ConflictError


def _css_for(widget: forms.Widget) -> str:
    if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple, forms.RadioSelect)):
        return "form-check-input"
    if isinstance(widget, (forms.Select, forms.SelectMultiple)):
        return "form-select"
    return "form-control"


DASHES = "---------"  # Django's empty choice: reads as a glitch on a Russian screen


def _no_dashes(field: forms.Field) -> None:
    """An empty choice reads "—", not Django's "---------"."""
    if isinstance(field, forms.ModelChoiceField) and field.empty_label == DASHES:
        field.empty_label = "—"
    elif isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        choices = list(field.choices)  # type: ignore[arg-type]
        if any(label == DASHES for _value, label in choices):
            field.choices = [(value, "—" if label == DASHES else label) for value, label in choices]


class StyledFormMixin:
    """Gives widgets Bootstrap classes and marks invalid ones; turns service errors into field errors."""

    fields: dict[str, forms.Field]
    _errors: Any

    def style(self) -> None:
        # Read the errors found so far; touching ``self.errors`` would validate the form too early.
        errors = self._errors or {}
        for name, field in self.fields.items():
            _no_dashes(field)
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            classes = {*widget.attrs.get("class", "").split(), _css_for(widget)}
            if name in errors:
                classes.add("is-invalid")
            else:
                classes.discard("is-invalid")
            widget.attrs["class"] = " ".join(sorted(classes))

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self.style()

    def add_service_error(self, exc: ValidationError | ConflictError) -> None:
        """Show what a service refused: on the field it names, or above the form."""
        if isinstance(exc, ConflictError):
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)  # type: ignore[attr-defined]
        elif hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)  # type: ignore[attr-defined]
        else:
            self.add_error(None, exc)  # type: ignore[attr-defined]
        self.style()


class StyledForm(StyledFormMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()
