"""The project file (segmento.yaml): the one loader that assembles every stage's settings.

Each stage owns the models of its sections (``store/settings.py``, ``features/settings.py``,
``audiences/settings.py``, ``segmentations/settings.py``, ``dynamics/settings.py``,
``activation/settings.py``, ``predictive/settings.py``); this module only reads the YAML, assembles those sections
into ``Project`` and turns validation errors into messages that name the file, the line
and what would be valid, because the person reading them is an analyst editing YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.activation.settings import AudienceExport, Destination, Route
from segmento.audiences.settings import AudienceDefinition
from segmento.dynamics.settings import Dynamics
from segmento.features.settings import FeaturesSection
from segmento.predictive.settings import PredictiveSettings
from segmento.segmentations.settings import Segmentation
from segmento.settings import ConfigError, Strict
from segmento.store.settings import EngineSection, Gdpr, SourceMapping

__all__ = ["ConfigError", "EngineSection", "Project", "load_project", "parse_project"]


class Project(Strict):
    """The whole project file."""

    name: str = "segmento"
    database: str = Field("segmento.duckdb", description="DuckDB file path or Ibis connection URL")
    engine: EngineSection = Field(default_factory=EngineSection)  # store
    # one field per section, each modelled in the settings.py of the stage that reads it
    sources: list[SourceMapping] = Field(default_factory=list)  # store
    features: FeaturesSection = Field(default_factory=FeaturesSection)
    audiences: list[AudienceDefinition] = Field(default_factory=list)
    dynamics: Dynamics = Field(default_factory=Dynamics)
    predictive: PredictiveSettings = Field(default_factory=PredictiveSettings)
    gdpr: Gdpr = Field(default_factory=Gdpr)  # store
    segmentations: list[Segmentation] = Field(default_factory=list)
    destinations: list[Destination] = Field(default_factory=list)  # activation
    routes: list[Route] = Field(default_factory=list)  # activation
    exports: list[AudienceExport] = Field(default_factory=list)  # activation
    campaigns: list[CampaignDefinition] = Field(default_factory=list)  # activation (control groups), campaigns

    # Where the file was read from, for error messages of later stages (not user keys).
    _path: Path | None = PrivateAttr(default=None)
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def lines(self) -> dict[tuple[Any, ...], int]:
        return self._lines

    def line_of(self, *loc: Any) -> int | None:
        """The line in the project file where ``loc`` (e.g. 'audiences', 2, 'rule') is written."""
        for cut in range(len(loc), 0, -1):
            if loc[:cut] in self.lines:
                return self.lines[loc[:cut]]
        return None

    def where(self, *loc: Any) -> str:
        """'segmento.yaml, line 12' for error messages (or just the file name, or that there is none)."""
        if self.path is None and not self.lines:
            return "no project file (write segmento.yaml in this directory or pass --config)"
        name = str(self.path) if self.path else "project config"
        line = self.line_of(*loc)
        return f"{name}, line {line}" if line else name

    @field_validator("segmentations")
    @classmethod
    def _unique_segmentations(cls, value: list[Any]) -> list[Any]:
        names = [s.name for s in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"segmentation names must be unique; repeated: {', '.join(repeated)}")
        return value

    def segmentation(self, name: str) -> Any:
        """The declared segmentation called ``name`` (error listing the declared ones)."""
        for definition in self.segmentations:
            if definition.name == name:
                return definition
        known = ", ".join(s.name for s in self.segmentations) or "none declared"
        raise ConfigError(f"{self.where('segmentations')}: no segmentation named {name!r}; declared: {known}")


def _node_lines(node: yaml.Node, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every key path of a YAML document to its 1-based line number."""
    lines: dict[tuple[Any, ...], int] = {prefix: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, key_node.value)
            lines.update(_node_lines(value_node, key))
            lines[key] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_node_lines(item, (*prefix, index)))
    return lines


def load_project(path: str | Path) -> Project:
    """Read and validate a project file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: project file not found") from None
    return parse_project(text, path)


def parse_project(text: str, path: Path | None = None) -> Project:
    """Validate project YAML text; errors carry the file name and line."""
    name = str(path) if path else "project config"
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{name}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{name}, line 1: the project file must be a mapping of sections")
    lines = _node_lines(node) if node is not None else {}
    try:
        project = Project.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, name, lines)) from None
    project._path = path
    project._lines = lines
    return project


def _explain(exc: ValidationError, name: str, lines: dict[tuple[Any, ...], int]) -> str:
    messages = []
    for error in exc.errors():
        raw = tuple(error["loc"])
        loc = _walk(Project, raw)[0]
        line = next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)
        where = f"{name}, line {line}" if line else name
        field = ".".join(str(part) for part in loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            model = _model_at(Project, raw[:-1])
            valid = ", ".join(f.alias or n for n, f in model.model_fields.items()) if model else ""
            message = f"unknown key {loc[-1]!r}" + (f"; valid keys: {valid}" if valid else "")
        messages.append(f"{where}: {field}: {message}")
    return "\n".join(messages)


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for 'valid keys' hints)."""
    return _walk(model, loc)[1]


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], type[BaseModel] | None]:
    """Follow an error location through the models: the location without the member tag
    pydantic inserts for a discriminated union (segmentations, 0, 'kmeans', 'k' ->
    segmentations, 0, 'k'), and the model validating the mapping it ends at."""
    clean: list[Any] = []
    current: type[BaseModel] | None = model
    tagged: dict[Any, type[BaseModel]] = {}
    for part in loc:
        if isinstance(part, str) and part in tagged:
            current, tagged = tagged[part], {}
            continue
        clean.append(part)
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(str(part))
        members = _members(field.annotation) if field else []
        tagged = {tag: m for m in members for tag in _tags(m)} if len(members) > 1 else {}
        current = members[0] if len(members) == 1 else None
    return tuple(clean), current


def _members(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold (through list, Optional, Union, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _members(arg)]


def _tags(model: type[BaseModel]) -> list[Any]:
    """Single-value Literal fields: the tags that pick ``model`` in a discriminated union."""
    return [get_args(f.annotation)[0] for f in model.model_fields.values()
            if get_origin(f.annotation) is Literal and len(get_args(f.annotation)) == 1]
