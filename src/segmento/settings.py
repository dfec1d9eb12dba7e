"""What every stage's settings are built from.

Each stage declares the section of ``segmento.yaml`` it reads in its own ``settings.py``
(``store/settings.py``, ``features/settings.py``, ``activation/settings.py``...), as
pydantic models deriving from ``Strict``; ``segmento/config.py`` assembles the sections
into the project model and turns validation errors into messages naming the file, the
line and what would be valid. To add a section: declare its model in the stage's
settings module, add one field to ``config.Project``, and document it in the README.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from segmento.errors import SegmentoError


class ConfigError(SegmentoError):
    """A project file that cannot be used, with file and line in the message."""


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # schemas built once, at the first validation
