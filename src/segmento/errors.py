"""The one family of user errors.

A `SegmentoError` is something the user can fix (a file, an option, a rule, a missing
step): the CLI prints its message on one line and exits with code 2, the API answers
4xx. Anything else is a bug and is left to surface as one. Messages name what is wrong
and how to fix it, in the words of where they are shown.
"""

from __future__ import annotations


class SegmentoError(ValueError):
    """A user error: bad input, bad configuration, or a step that has not been run yet.

    It subclasses ValueError so code written against the older errors keeps working.
    """


class NotFoundError(SegmentoError, LookupError):
    """Something named by the user does not exist (a customer, a segmentation, a model)."""


class NotReadyError(SegmentoError):
    """A step the request needs has not run yet (no fitted model, no snapshot...)."""


class UnsupportedError(SegmentoError):
    """The engine or the configuration cannot do what was asked (said plainly)."""
