"""The API's answers other than success, as RFC 9457 problem+json."""

from flask_babel import gettext as _


class ApiError(Exception):
    """An answer other than success, as problem+json."""

    def __init__(self, status: int, detail: str = "", *, errors=None, headers=None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, str(detail), errors
        self.headers, self.extra = headers or {}, extra


class Invalid(ApiError):
    """A 422 with the failing fields and why."""

    def __init__(self, errors: list[dict]):
        super().__init__(422, _("Some fields are not valid."), errors=errors)


def invalid(field: str, message) -> Invalid:
    return Invalid([{"field": field, "message": str(message)}])
