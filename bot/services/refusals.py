"""A rule's "no", shared by every feature whose form or command a person fills in."""

from __future__ import annotations

from collections.abc import Mapping


class Refused(Exception):
    """A rule said no. `errors` holds every problem at once, keyed by the form input it belongs
    on, so a modal shows them all in one answer; `message` says them all, for a command's
    answer; `field` is the first one's input. Subclasses name their usual input."""

    default_field = "form"

    def __init__(
        self,
        message: str = "",
        field: str | None = None,
        *,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        self.errors = dict(errors) if errors else {field or self.default_field: message}
        self.message = "\n".join(self.errors.values())
        self.field = next(iter(self.errors))
        super().__init__(self.message)
