"""Errors a user can cause and fix.

Every edge (CLI, HTTP, recipe params, files) turns these into one readable sentence; anything
else is a bug and is logged, never shown to the user as a traceback.
"""


class LabelloopError(Exception):
    """A problem with the user's input or setup, described in one sentence."""


class NotFound(LabelloopError):
    """An item, dataset, folder or model that does not exist."""


class LeaseConflict(LabelloopError):
    """The item is leased to another annotator."""


class NameRequired(LabelloopError):
    """A shared server needs the annotator to pick a name first."""


class NameTaken(NameRequired):
    """The name is bound to another annotator's key: pick another."""


class Forbidden(LabelloopError):
    """The annotator may not do this (review, on a server with reviewers)."""


class Unauthorized(LabelloopError):
    """The request lacks the server's access token."""


class TooManyAttempts(Unauthorized):
    """Too many wrong access tokens from one address: it must wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(LabelloopError):
    """A service the request needs (the journal database) cannot be reached now; retrying may work."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (the driver's own, when it wraps one)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


DATABASE_PACKAGES = ("sqlalchemy", "psycopg", "psycopg2", "pymysql", "sqlite3")
DATABASE_TROUBLE = "The database could not be read or written (the server's log says why)."


def shown_to_annotators(error: BaseException) -> str:
    """What ``/stats`` may say of ``error``: its first line, unless a database's error is among its
    causes. Those name the database's user, host and port, which every annotator would see."""
    cause = error
    while cause is not None:
        if type(cause).__module__.split(".")[0] in DATABASE_PACKAGES:
            return DATABASE_TROUBLE
        cause = cause.__cause__ or cause.__context__
    return first_line(error)
