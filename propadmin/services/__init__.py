"""Business rules as plain functions: a session and explicit arguments in, a result or a
domain error out. They flush; the caller commits."""


class ServiceError(ValueError):
    """A rule was broken by the input. ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
