"""One exception hierarchy for fieldlab.

Every error a user can trigger derives from :class:`FieldlabError`, so callers can catch the
family, and every message names the offending input and says how to fix it.
"""

from __future__ import annotations


class FieldlabError(Exception):
    """Base class of every error fieldlab raises on purpose."""


class UnknownSystemError(FieldlabError, KeyError):
    """A simulator name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ParameterError(FieldlabError, ValueError):
    """A simulator parameter that is unknown or out of range."""


class SimulationError(FieldlabError, RuntimeError):
    """A simulation produced non-finite values."""


class DatasetError(FieldlabError, RuntimeError):
    """A dataset that cannot be generated, opened or trusted; the message names the dataset."""


class CardError(DatasetError, ValueError):
    """A dataset card that is not valid; the message names the card file, the field and the choices."""


class UnknownDatasetError(DatasetError, KeyError):
    """A dataset name with no card in the catalog."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A catalogued dataset that has not been generated (completely) under the data root."""


class DatasetNameError(DatasetError, ValueError):
    """A dataset name that cannot name a card (e.g. ``../x``); the message lists the allowed
    characters."""


class DatasetIncompleteError(DatasetNotFoundError):
    """A store that exists but is not complete (a chunk's record or file is missing); the message
    names the missing chunks and the command that finishes the store."""


class DatasetLockedError(DatasetError):
    """Another live process holds the writer lock of a store; the message names the holder (host,
    pid, since) and what to do."""


class WriterLockLostError(DatasetError):
    """The writer lock of a store was taken over while this process was writing it (its lease ran
    out); the store is left unfinished and the message says how to resume."""


class TrainingError(FieldlabError, ValueError):
    """A training or evaluation request that cannot run: a dataset without the task's frames, a
    bad configuration, a run or checkpoint that cannot be found; the message names the input."""


class SettingsError(FieldlabError, ValueError):
    """A ``--set KEY=VALUE`` option that is not KEY=VALUE or whose value is not YAML."""
