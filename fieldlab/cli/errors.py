"""The command's one error handler: every error a user can cause is one line and exit status 2.

:class:`FieldlabGroup` wraps every subcommand. A :class:`~fieldlab.errors.FieldlabError` prints
its message (which names the input and the fix); ordinary operational errors (a data root that
cannot be written, a full disk, a store file that is not valid JSON, a storage protocol whose
package is missing) print what failed, on which path, and what to do. Status 1 is kept for
``fieldlab catalog verify`` finding damage; 130 for Ctrl-C. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import errno
import json
from typing import Any

import click
import typer
from typer.core import TyperGroup

from fieldlab.errors import FieldlabError

USER_ERROR = 2
"""Exit status of every error a user can cause and fix."""

_FIXES = {
    errno.ENOSPC: "free some space, or pass --data-root on a disk with room",
    errno.EDQUOT: "free some space, or pass --data-root on a disk with room",
    errno.EROFS: "pass --data-root (or set FIELDLAB_DATA) to a writable place",
    errno.EACCES: "pass --data-root (or set FIELDLAB_DATA) to a place you may write, or fix its "
    "permissions",
    errno.EPERM: "pass --data-root (or set FIELDLAB_DATA) to a place you may write, or fix its "
    "permissions",
    errno.ENOTDIR: "a part of the path is a file: pass a directory",
    errno.ENOENT: "check the path",
}


def describe(err: BaseException) -> str | None:
    """One line for an error a user can cause (see the module docstring), else ``None``."""
    if isinstance(err, FieldlabError):
        return str(err)
    if isinstance(err, json.JSONDecodeError):
        return (
            f"a file of the dataset's store is not valid JSON ({err.msg}, line {err.lineno}); "
            "run `fieldlab catalog verify NAME --repair`, then `fieldlab generate NAME`"
        )
    if isinstance(err, OSError) and err.errno in _FIXES:
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror or err}{where}; {_FIXES[err.errno]}"
    text = str(err)
    if (isinstance(err, ImportError) and "fsspec" in text.lower()) or "Protocol not known" in text:
        return (
            f"{text.splitlines()[0]}; install the package for that storage protocol "
            "(e.g. pip install s3fs for s3://, gcsfs for gs://)"
        )
    return None


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr; the exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(USER_ERROR)


class FieldlabGroup(TyperGroup):
    """The root command group: turns a user's error into one line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as err:  # a user's error is reported; anything else is re-raised
            message = describe(err)
            if message is None:
                raise
            raise fail(message) from None
