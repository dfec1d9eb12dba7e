"""The project file (segmento.yaml) as pydantic models.

Every error names the file, the line and what would be valid, because the person
reading it is an analyst editing YAML, not a Python developer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic import ValidationInfo, field_validator  # segmentations
from pydantic_core import PydanticCustomError


class ConfigError(ValueError):
    """A project file that cannot be used, with file and line in the message."""


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class SourceMapping(Strict):
    """How to read one user file into a knowledge-base table."""

    table: str
    path: str
    columns: dict[str, str] = Field(default_factory=dict, description="our column -> the file's column")
    date_format: str | None = None
    timestamp_format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"


class TrajectoryRule(Strict):
    """A move between segments that matters: it raises an alert feeding a journey."""

    name: str
    segmentation: str
    from_segments: list[str] | Literal["*"] = Field("*", alias="from")
    to_segments: list[str] | Literal["*"] = Field("*", alias="to")
    direction: Literal["down", "up", "any"] = "any"
    kind: Literal["negative", "positive", "high_stakes"] = "negative"
    journey: str | None = None
    min_value: float = Field(0.0, description="only customers whose value at stake is at least this")


class Dynamics(Strict):
    """How snapshots are taken and which trajectories raise alerts."""

    grid: Literal["monthly", "weekly", "quarterly"] = "monthly"
    markov_window: int = Field(12, ge=1)
    discount_rate: float = Field(0.01, ge=0, description="per period, for expected value")
    rules: list[TrajectoryRule] = Field(default_factory=list)


# --- features section (owned by segmento.features) ---------------------------

WINDOW_PATTERN = r"lifetime|[1-9][0-9]*[dwmy]"
FEATURE_NAME_PATTERN = r"[a-z][a-z0-9_]*"


def _check_window(value: Any) -> str:
    """'30d', '6w', '12m', '2y' or 'lifetime'; anything else is an error an analyst can act on."""
    if not isinstance(value, str) or not re.fullmatch(WINDOW_PATTERN, value.strip()):
        raise PydanticCustomError(
            "window",
            "bad window {value}: write a number then d, w, m or y (e.g. '30d', '12m'), or 'lifetime'",
            {"value": repr(value)},
        )
    return value.strip()


def _check_feature_name(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(FEATURE_NAME_PATTERN, value):
        raise PydanticCustomError(
            "feature_name",
            "bad feature name {value}: use lowercase letters, digits and _, starting with a letter",
            {"value": repr(value)},
        )
    return value


WindowText = Annotated[str, BeforeValidator(_check_window)]
FeatureName = Annotated[str, BeforeValidator(_check_feature_name)]
SqlText = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, (int, float)) else v)]  # `expr: 1`


class FeatureWindows(Strict):
    """Look-back windows of the built-in features; a feature's name ends with its window (orders_90d)."""

    rfm: list[WindowText] = Field(["90d", "12m"], description="orders_<w>, spend_<w> (lifetime is always there)")
    social: list[WindowText] = Field(["30d", "90d", "12m"], description="social_<w>")
    service: list[WindowText] = Field(["90d"], description="chatbot_<w>, call_<w>, selfcare_<w>")
    interests: list[WindowText] = Field(["30d", "90d"], description="interests_<w>, interest_sizes_<w>")
    period: WindowText = Field("12m", description="window of shares and rates (share_web_<w>, promo_*_<w>...)")


class CustomFeature(Strict):
    """A user feature without Python: an aggregate over a table, or an expression over other features."""

    name: FeatureName
    axis: str = "custom"
    description: str = ""
    unit: str = ""
    # an aggregate feature ...
    table: Literal["orders", "order_lines", "events"] | None = None
    aggregation: Literal["count", "sum", "mean", "min", "max", "count_distinct"] | None = None
    column: str | None = None
    where: SqlText | None = Field(None, description="SQL condition over the table's columns")
    window: WindowText = "lifetime"
    # ... or a derived feature
    expr: SqlText | None = Field(None, description="SQL expression over other features")

    @model_validator(mode="after")
    def _one_kind(self) -> CustomFeature:
        if self.expr is not None:
            if self.table or self.aggregation or self.column or self.where:
                raise PydanticCustomError(
                    "feature_kind",
                    "feature {name}: give either expr or table/aggregation, not both",
                    {"name": repr(self.name)},
                )
        elif self.table is None or self.aggregation is None:
            raise PydanticCustomError(
                "feature_kind",
                "feature {name}: give expr (a derived feature) or table and aggregation (an aggregate feature)",
                {"name": repr(self.name)},
            )
        elif self.column is None and self.aggregation != "count":
            raise PydanticCustomError(
                "feature_kind",
                "feature {name}: aggregation {agg} needs a column",
                {"name": repr(self.name), "agg": repr(self.aggregation)},
            )
        return self


class FeaturesSection(Strict):
    """The features section: windows of the built-ins and the user's own features."""

    windows: FeatureWindows = Field(default_factory=FeatureWindows)
    custom: list[CustomFeature] = Field(default_factory=list)


# --- end of features section ---------------------------------------------------


class SegmentationBase(Strict):
    """What every segmentation declares: a name, labels and how much data fitting reads."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    language: Literal["en", "fr"] = Field("en", description="language of the built-in segment labels")
    labels: dict[str, str] = Field(default_factory=dict, description="segment id -> label, overrides")
    sample: int | None = Field(200_000, ge=100, description="customers read to fit (None: all)")
    seed: int = 0


class RFMCells(Strict):
    """One named RFM segment and the score cells it covers, e.g. 'r=4-5 fm=4-5'."""

    id: str
    label: str | None = None
    cells: list[str] = Field(min_length=1)


class RFMSegmentation(SegmentationBase):
    """Recency / frequency / monetary scores and a named map of their cells."""

    kind: Literal["rfm"]
    recency: str = "recency_days"
    frequency: str = "orders_12m"
    monetary: str = "spend_12m"
    bins: int = Field(5, ge=2, le=9, description="score levels per axis (5 = quintiles)")
    map: list[RFMCells] | None = Field(None, description="segments over the cells (default: the 11-segment map)")

    @field_validator("map")
    @classmethod
    def _complete_map(cls, value: list[RFMCells] | None, info: ValidationInfo) -> list[RFMCells] | None:
        from segmento.segmentations.rfm import compile_map  # lazy: that package imports this module

        if "bins" in info.data:
            compile_map(value, info.data["bins"])
        return value


class Tier(Strict):
    """One value tier; the last tier takes everyone left (no bound)."""

    id: str
    label: str | None = None
    min: float | None = Field(None, description="value >= min")
    above: float | None = Field(None, description="value > above")
    quantile: float | None = Field(None, gt=0, lt=1, description="value >= this quantile, frozen at fit")


class TiersSegmentation(SegmentationBase):
    """Value tiers from thresholds or quantiles of one feature, best tier first."""

    kind: Literal["tiers"]
    feature: str = "spend_12m"
    quantile_among: Literal["positive", "all"] = "positive"
    tiers: list[Tier] = Field(min_length=2)

    @field_validator("tiers")
    @classmethod
    def _bounds(cls, value: list[Tier]) -> list[Tier]:
        from segmento.segmentations.tiers import check_tiers

        check_tiers(value)
        return value


class KMeansSegmentation(SegmentationBase):
    """k-means on chosen features; fitted on a sample, assigned in the engine."""

    kind: Literal["kmeans"]
    features: list[str] = Field(min_length=1)
    categorical: list[str] = Field(default_factory=list, description="one-hot encoded")
    transforms: dict[str, Literal["auto", "log", "none"]] = Field(default_factory=dict)
    scaling: Literal["robust", "standard", "none"] = "robust"
    weights: dict[str, float] = Field(default_factory=dict)
    fill: dict[str, float] = Field(default_factory=dict, description="value for NULL (default: fitted median)")
    k: int | Literal["auto"] = "auto"
    k_min: int = Field(3, ge=2)
    k_max: int = Field(10, ge=2)
    min_segment_share: float = Field(0.02, ge=0, lt=0.5)
    active: str | None = Field(None, description="feature; NULL or 0 means the 'inactive' segment")
    rank_by: str | None = Field(None, description="feature whose mean orders segments (default: the first)")
    n_init: int = Field(4, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> KMeansSegmentation:
        from segmento.segmentations.clustering import check_definition

        check_definition(self)
        return self


Segmentation = Annotated[RFMSegmentation | TiersSegmentation | KMeansSegmentation, Field(discriminator="kind")]


class Gdpr(Strict):
    """Data-protection settings."""

    retention_days: dict[Literal["events", "orders"], int] = Field(
        default_factory=dict, description="purge rows older than this many days, e.g. {events: 730}"
    )


# --- activation section (owned by segmento.activation) -------------------------


class RetryPolicy(Strict):
    """How a failing destination is retried before a message goes to dead letter."""

    max_attempts: int = Field(8, ge=1, description="attempts before dead letter (status failed)")
    backoff: float = Field(2.0, gt=0, description="seconds before the first retry; doubles each attempt, with jitter")
    max_backoff: float = Field(900.0, gt=0, description="longest wait between two attempts, in seconds")


class DestinationBase(Strict):
    """What every destination declares: a name, the channel it reaches (for consent) and batching."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    channel: Literal["email", "sms", "phone", "push", "post"] | None = Field(
        None, description="only customers consenting to this channel at send time are sent"
    )
    purpose: str = Field("marketing", description="consent purpose checked with the channel")
    batch_size: int = Field(100, ge=1, description="messages per request or file")
    rate_limit: float | None = Field(None, gt=0, description="requests (or files) per second at most")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)


class WebhookDestination(DestinationBase):
    """POST JSON batches to a URL, signed with HMAC-SHA256 when a secret is set."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: str | None = Field(None, description="signing secret (prefer secret_env)")
    secret_env: str | None = Field(None, description="environment variable holding the signing secret")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(10.0, gt=0, description="seconds to wait for the receiver")


class FileDestination(DestinationBase):
    """Drop CSV or Parquet files, one folder per audience or alert kind, each with a manifest."""

    type: Literal["file"]
    path: str
    format: Literal["csv", "parquet"] = "csv"


class PluginDestination(DestinationBase):
    """A platform connector: a class 'package.module:Class' implementing segmento.activation.destinations.Sender."""

    type: Literal["plugin"]
    plugin: str = Field(pattern=r"^[\w.]+:\w+$")
    options: dict[str, Any] = Field(default_factory=dict)


Destination = Annotated[WebhookDestination | FileDestination | PluginDestination, Field(discriminator="type")]


class Route(Strict):
    """Which alerts or audience changes go to which destinations, for which journey."""

    name: str
    alerts: list[str] | Literal["*"] | None = Field(None, description="trajectory rule names, or * for all")
    kinds: list[Literal["negative", "positive", "high_stakes"]] | None = Field(None, description="alert kinds")
    min_priority: float = Field(0.0, description="only alerts with at least this value at stake")
    audiences: list[str] | Literal["*"] | None = Field(None, description="audience names, or * for all")
    changes: list[Literal["enter", "exit"]] = Field(["enter", "exit"], description="audience changes routed")
    journey: str | None = Field(None, description="journey name in the payload (default: the rule's, else the route's)")
    to: list[str] = Field(min_length=1, description="destination names")
    profile: list[str] = Field(default_factory=list, description="customer columns the journey needs")
    params: dict[str, Any] = Field(default_factory=dict, description="fixed values the journey needs")

    @model_validator(mode="after")
    def _one_source(self) -> Route:
        if (self.alerts is None) == (self.audiences is None):
            raise PydanticCustomError(
                "route_source", "route {name}: give either alerts or audiences", {"name": repr(self.name)}
            )
        return self


class AudienceExport(Strict):
    """The full membership of an audience sent to a destination, on demand or on a schedule."""

    audience: str
    to: str = Field(description="destination name")
    every: Literal["hourly", "daily", "weekly", "monthly"] | None = Field(None, description="schedule")
    profile: list[str] = Field(default_factory=list, description="customer columns to include")


# --- end of activation section ---------------------------------------------------


# --- audiences section (owned by segmento.audiences) ---------------------------------

AUDIENCE_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,62}"


def _check_audience_name(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(AUDIENCE_NAME_PATTERN, value):
        raise PydanticCustomError(
            "audience_name",
            "bad audience name {value}: use lowercase letters, digits, '_' or '-' (at most 63), e.g. email_vips",
            {"value": repr(value)},
        )
    return value


def _check_rule_syntax(value: Any) -> str:
    """Syntax only here (names and types need the feature catalog, checked when audiences load)."""
    from segmento.audiences.ast import RuleError  # lazy: that package imports this module
    from segmento.audiences.parser import parse_rule

    text = str(value) if isinstance(value, (int, float, bool)) else value
    if not isinstance(text, str):
        raise PydanticCustomError("rule", "a rule is text, e.g. rule: gender = 'F' AND age < 30", {})
    try:
        parse_rule(text)
    except RuleError as exc:
        raise PydanticCustomError("rule", "{message}", {"message": str(exc)}) from None
    return text


class AudienceDefinition(Strict):
    """A named, rule-based audience: a SQL-style condition over features and events."""

    name: Annotated[str, BeforeValidator(_check_audience_name)]
    rule: Annotated[str, BeforeValidator(_check_rule_syntax)] = Field(
        description="e.g. gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d"
    )
    description: str = ""
    owner: str = ""
    tags: list[str] = Field(default_factory=list)


# --- end of audiences section ----------------------------------------------------


class Project(Strict):
    """The whole project file."""

    name: str = "segmento"
    database: str = Field("segmento.duckdb", description="DuckDB file path or Ibis connection URL")
    sources: list[SourceMapping] = Field(default_factory=list)
    features: FeaturesSection = Field(default_factory=FeaturesSection)
    audiences: list[AudienceDefinition] = Field(default_factory=list)
    dynamics: Dynamics = Field(default_factory=Dynamics)
    gdpr: Gdpr = Field(default_factory=Gdpr)
    segmentations: list[Segmentation] = Field(default_factory=list)
    destinations: list[Destination] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    exports: list[AudienceExport] = Field(default_factory=list)

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
        """'segmento.yaml, line 12' for error messages (or just the file name)."""
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
