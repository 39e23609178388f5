"""The scenario file format: one pydantic model per entity of MODEL.md.

Each field is declared once here; the JSON Schema (`iadsim schema`), the docs and the
validation messages all come from these declarations. Units are part of the field name
(`range_km`, `time_s`, `alt_m`); values are plain numbers. Numbers are finite (no .nan, and .inf
only where a field says so) and counts are integers, never booleans.

A model-level check that is about one field raises `_at(field, message)`, so that the loader
can point at that field's line rather than at the whole entity.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError


def _not_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        raise PydanticCustomError("finite_number", "Input should be a number or .inf, not .nan")
    return value


def _at(fields: str | tuple[str | int, ...], message: str,
        *more: str | tuple[str | int, ...]) -> PydanticCustomError:
    """A failed model check that concerns `fields` (a name or a path inside the model).

    The loader locates the problem at the first of `fields, *more` written in the file.
    """
    paths = [f if isinstance(f, tuple) else (f,) for f in (fields, *more)]
    return PydanticCustomError("field_check", "{message}", {"message": message, "at": paths})


def _not_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("number_not_boolean", "expected a number, not true/false")
    return value


NotBoolean = BeforeValidator(_not_boolean)
Probability = Annotated[float, Field(ge=0.0, le=1.0), NotBoolean]
Positive = Annotated[float, Field(gt=0.0), NotBoolean]
MaybeInfinite = Annotated[float, Field(allow_inf_nan=True), BeforeValidator(_not_nan), NotBoolean]
RATE_MAX = 1_000.0  # events per second (.inf, "at once", aside)


def upper_bound(model: type[BaseModel], name: str) -> float:
    """The largest value a field of a scenario model accepts (inf if unbounded): the
    parameter space gives `--set`, profiles and tables the same bounds as the file."""
    info = model.model_fields[name]
    return min((float(m.le) for m in info.metadata if hasattr(m, "le") and m.le is not None),
               default=math.inf)


def _rate_bound(value: float) -> float:
    if math.isfinite(value) and value > RATE_MAX:
        raise PydanticCustomError("rate_bound", "a rate is at most 1000 per second (or .inf: "
                                  "at once)")
    return value


Rate = Annotated[float, Field(ge=0.0, allow_inf_nan=True, description="Events per second, up "
                              "to 1,000; .inf means at once."), BeforeValidator(_not_nan),
                 NotBoolean, AfterValidator(_rate_bound)]
# Physically sensible bounds (documented in `iadsim schema`): numbers beyond them are typing
# mistakes, and would exhaust memory or overflow before anything ran.
DAYS_30 = 30 * 86_400.0
Seconds = Annotated[float, Field(ge=0.0, le=DAYS_30, description="Seconds, up to 30 days."),
                    NotBoolean]
PositiveSeconds = Annotated[float, Field(gt=0.0, le=DAYS_30, description="Seconds, up to 30 "
                                         "days."), NotBoolean]
Altitude = Annotated[float, Field(ge=0.0, le=100_000.0, description="Metres, up to 100 km."),
                     NotBoolean]
PositiveAltitude = Annotated[float, Field(gt=0.0, le=100_000.0, description="Metres, up to "
                                          "100 km."), NotBoolean]
Kilometres = Annotated[float, Field(ge=0.0, le=5_000.0, description="Kilometres, up to "
                                    "5,000."), NotBoolean]
PositiveKilometres = Annotated[float, Field(gt=0.0, le=5_000.0, description="Kilometres, up "
                                            "to 5,000."), NotBoolean]
Speed = Annotated[float, Field(gt=0.0, le=20_000.0, description="Metres per second, up to "
                               "20,000."), NotBoolean]
Factor = Annotated[float, Field(ge=0.0, le=1_000.0), NotBoolean]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0), NotBoolean]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0), NotBoolean]
Identifier = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")]
Count = Annotated[int, Field(ge=1, strict=True)]  # strict: `true` is not 1, `2.0` is not 2
ThreatClass = Literal["fixed_wing", "helicopter", "drone", "cruise_missile"]
THREAT_CLASSES: tuple[str, ...] = get_args(ThreatClass)


class Strict(BaseModel):
    """Base for every scenario model: unknown keys are errors, numbers are finite."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


# --- distributions -------------------------------------------------------------------------


class Fixed(Strict):
    """Always the same value."""

    dist: Literal["fixed"]
    value: Seconds


class Exponential(Strict):
    """Exponential with the given mean (memoryless delays, service times)."""

    dist: Literal["exponential"]
    mean: PositiveSeconds


class Uniform(Strict):
    """Uniform between low and high."""

    dist: Literal["uniform"]
    low: Seconds
    high: Seconds

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise _at("high", f"high ({self.high:g}) must be at least low ({self.low:g})")
        return self


class Triangular(Strict):
    """Triangular with low, mode and high."""

    dist: Literal["triangular"]
    low: Seconds
    mode: Seconds
    high: Seconds

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise _at("mode", "expected low <= mode <= high", "high")
        return self


class LogNormal(Strict):
    """Log-normal with the given median and log-scale sigma."""

    dist: Literal["lognormal"]
    median: PositiveSeconds
    sigma: Annotated[float, Field(ge=0.0, le=10.0), NotBoolean]


Distribution = Annotated[
    Fixed | Exponential | Uniform | Triangular | LogNormal, Field(discriminator="dist")
]
Duration = Annotated[
    Seconds | Distribution,
    Field(description="Seconds (up to 30 days): a number, or a distribution {dist: "
          "exponential, mean: …}."),
]


# --- readiness -----------------------------------------------------------------------------


class Readiness(Strict):
    """Readiness probabilities, each drawn once per run (MODEL.md, Readiness)."""

    available: Probability | None = Field(None, description="Maintained and working.")
    deployed: Probability | None = Field(None, description="Not in storage.")
    emitting: Probability | None = Field(None, description="Radar switched on (sensors).")
    connected: Probability | None = Field(
        None, description="Sensor linked to its command post or fire unit (sensors)."
    )
    trained: Probability | None = Field(None, description="Crew skilled (fire units).")


READINESS_FACTORS = ("available", "deployed", "emitting", "connected", "trained")
ReadinessFactor = Literal["available", "deployed", "emitting", "connected", "trained"]
# the factors that act on each kind of entity: a command post has no radar, link or crew of its
# own; a fire unit's `connected` is its link to its command post (orders reach it)
FACTORS_OF_KIND = {"sensor": ("available", "deployed", "emitting", "connected"),
                   "command_post": ("available", "deployed"),
                   "fire_unit": ("available", "deployed", "connected", "trained")}


# --- entities ------------------------------------------------------------------------------


class Located(Strict):
    id: Identifier
    type: str | None = Field(None, description="A catalog type whose figures are the defaults.")
    lat: Latitude
    lon: Longitude
    readiness: Readiness = Field(default_factory=Readiness)


class Sensor(Located):
    """A radar: search radars report to a command post, fire-control radars serve a unit."""

    role: Literal["search", "fire_control"]
    height_m: Altitude = Field(10.0, description="Antenna height above ground.")
    range_km: PositiveKilometres = Field(description="Detection range against a 1 m² target.")
    detect_rate: Rate = Field(description="Detection rate while a target is in coverage.")
    command_post: str | None = Field(None, description="Command post it reports to (search).")


class CommandPost(Strict):
    """A C2 node: receives tracks, issues engagement orders."""

    id: Identifier
    lat: Latitude | None = None
    lon: Longitude | None = None
    authority: Literal["central", "delegated", "autonomous"] = "central"
    orders_prob: Probability = Field(1.0, description="Chance it issues any orders in a run.")
    report_delay_s: Seconds = 0.0
    decision_delay: Duration = 0.0
    autonomous_delay_s: Seconds = Field(
        2.0, description="Fixed decision delay under autonomous authority."
    )
    readiness: Readiness = Field(default_factory=Readiness)


class FireUnit(Located):
    """A SAM battery or MANPADS team."""

    height_m: Altitude = 0.0
    unit_type: str | None = Field(
        None, description="Label for observables' [unit_type=…]; defaults to the catalog type."
    )
    command_post: str | None = Field(
        None, description="Its command post; none means it engages on its own acquisition."
    )
    guidance: Literal["radar", "infrared"]
    fire_control_radar: str | None = Field(None, description="Sensor id (radar guidance).")
    acquire_rate: Rate | None = Field(None, description="Own acquisition rate (infrared).")
    min_range_km: Kilometres = 0.0
    max_range_km: PositiveKilometres
    min_alt_m: Altitude = 0.0
    max_alt_m: PositiveAltitude
    channels: Annotated[Count, Field(le=1_000)] = 1
    missiles: Annotated[int, Field(ge=0, le=100_000, strict=True)]
    salvo: Annotated[Count, Field(le=100)] = 1
    launch_reliability: Probability = 1.0
    pk: Probability | dict[Literal[ThreatClass, "default"], Probability] = Field(
        description="Single-shot kill probability, or {default: …, helicopter: …} by threat "
        "class; a table must have 'default', for the classes it does not list."
    )
    engagement_time: Duration | None = Field(
        None, description="Channel hold time; default acquisition_time_s + flyout."
    )
    acquisition_time_s: Seconds = 5.0
    missile_speed_mps: Speed = 1000.0
    shoot_look_shoot: bool = False

    @model_validator(mode="after")
    def _envelope(self) -> FireUnit:
        for low, high in (("min_range_km", "max_range_km"), ("min_alt_m", "max_alt_m")):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value >= high_value:
                raise _at(high, f"impossible envelope: {low} ({low_value:g}) must be below "
                          f"{high} ({high_value:g})", low)
        if self.guidance == "radar" and self.fire_control_radar is None:
            raise _at("fire_control_radar",
                      "a radar-guided unit needs fire_control_radar (a sensor id)")
        if self.guidance == "infrared" and self.acquire_rate is None:
            raise _at("acquire_rate", "an infrared unit needs acquire_rate (per second)")
        return self

    @field_validator("pk")
    @classmethod
    def _pk_default(cls, pk: float | dict[str, float]) -> float | dict[str, float]:
        if isinstance(pk, dict) and "default" not in pk:
            raise ValueError("a pk table must have a 'default' entry: the kill probability "
                             "against the threat classes it does not list")
        return pk


class Waypoint(Strict):
    """A route point; the leg to it is flown at speed_mps, or it is reached at time_s."""

    lat: Latitude
    lon: Longitude
    alt_m: Altitude = Field(description="Altitude above ground.")
    speed_mps: Speed | None = None
    time_s: Seconds | None = Field(None, description="Seconds after the flight's start.")


class Flight(Strict):
    """What threats and streams share: the aircraft and their route."""

    id: Identifier
    type: str | None = None
    threat_class: ThreatClass = Field(alias="class")
    count: Annotated[Count, Field(le=10_000, description="Aircraft in the flight.")] = 1
    rcs_m2: Annotated[float, Field(gt=0.0, le=100_000.0), NotBoolean]
    speed_mps: Speed | None = Field(None, description="Default leg speed.")
    route: list[Waypoint] = Field(min_length=2)

    @model_validator(mode="after")
    def _timed(self) -> Flight:
        if self.route and self.route[0].time_s not in (None, 0.0):
            raise _at(("route", 0, "time_s"),
                      "the first waypoint is the start: its time_s must be 0 or absent")
        last = 0.0
        for i, wp in enumerate(self.route[1:], start=1):
            if wp.time_s is None and wp.speed_mps is None and self.speed_mps is None:
                raise _at(("route", i), "a waypoint after the first needs speed_mps or "
                          "time_s (or set the flight's speed_mps)")
            if wp.time_s is not None:
                if wp.time_s <= last:
                    raise _at(("route", i, "time_s"), "time_s must increase along the route")
                last = wp.time_s
        return self


class Threat(Flight):
    """A flight of `count` aircraft starting at start_s."""

    start_s: Seconds = 0.0


class Stream(Flight):
    """Poisson arrivals of flights over [start_s, end_s], each flying the same route."""

    rate_per_s: Annotated[float, Field(gt=0.0, le=1_000.0, description="Arrivals per second, "
                                       "up to 1,000."), NotBoolean]
    start_s: Seconds = 0.0
    end_s: Seconds

    @model_validator(mode="after")
    def _window(self) -> Stream:
        if self.end_s <= self.start_s:
            raise _at("end_s", "end_s must be after start_s", "start_s")
        return self


class Strike(Strict):
    """At time_s, destroys the target with probability p_destroy."""

    id: Identifier | None = None
    target: str
    time_s: Seconds
    p_destroy: Probability = 1.0


class Point(Strict):
    lat: Latitude
    lon: Longitude


class Area(Point):
    radius_km: PositiveKilometres


class Selection(Strict):
    """Which entities an effect or override applies to; the union of what is named."""

    ids: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)
    kinds: list[Literal["sensor", "command_post", "fire_unit"]] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    area: Area | None = None
    all: bool = False

    @model_validator(mode="after")
    def _something(self) -> Selection:
        if not (self.ids or self.types or self.kinds or self.groups or self.area or self.all):
            raise ValueError("select at least one of ids, types, kinds, groups, area, all")
        return self


class ElectronicAttack(Strict):
    """Jamming, cyber or an unknown weapon, active over [start_s, end_s]."""

    id: Identifier
    start_s: Seconds = 0.0
    end_s: MaybeInfinite = Field(math.inf, description="When it stops; .inf (the default): never.")
    targets: Selection
    active: bool = Field(True, description="Whether the window acts; a profile may switch it "
                         "(electronic_attack.ID.active), e.g. an attack that is one hypothesis.")
    detect_factor: Factor = 1.0
    link_cut_prob: Probability = 0.0
    disable_prob: Probability = 0.0
    pk_factor: Factor = Field(1.0, description="Multiplies the kill probability of the "
                                   "fire units targeted.")
    launch_factor: Factor = Field(1.0, description="Multiplies the launch reliability of "
                                       "the fire units targeted: missiles that go up and crash.")

    @model_validator(mode="after")
    def _window(self) -> ElectronicAttack:
        if self.end_s <= self.start_s:
            raise _at("end_s", "end_s must be after start_s", "start_s")
        return self


class Doctrine(Strict):
    """Fire doctrine of the selected fire units (MODEL.md): which threat classes they engage
    and in which priority; waiting threats are served by priority, then first-come,
    first-served."""

    select: Selection
    engages: list[ThreatClass | list[ThreatClass]] = Field(
        min_length=1, description="Threat classes, highest priority first; a list of classes "
        "shares one priority. Classes not listed are held fire (not a broken link).")

    @field_validator("engages")
    @classmethod
    def _once(cls, engages: list[str | list[str]]) -> list[str | list[str]]:
        seen: set[str] = set()
        for entry in engages:
            for c in [entry] if isinstance(entry, str) else entry:
                if c in seen:
                    raise ValueError(f"{c!r} is listed twice: a class has one priority")
                seen.add(c)
        return engages

    def priorities(self) -> dict[str, int]:
        """Each engaged class's rank (0: first served); the others are held."""
        return {c: rank for rank, entry in enumerate(self.engages)
                for c in ([entry] if isinstance(entry, str) else entry)}


class Override(Strict):
    """Set readiness factors (and a command post's orders_prob and authority) on a selection
    of entities; a field that does not act on an entity's kind is left alone for it."""

    select: Selection
    set: ProfileValues


class ProfileValues(Readiness):
    orders_prob: Probability | None = None
    authority: Literal["central", "delegated", "autonomous"] | None = None


class Profile(Strict):
    """Named values for parameters: overrides on selections, then values by path."""

    description: str = ""
    overrides: list[Override] = Field(default_factory=list)
    values: dict[str, Any] = Field(
        default_factory=dict, description="Parameter path → value, applied after the "
        "overrides (`iadsim params SCENARIO` lists the paths), e.g. "
        "command_posts.cp.authority: autonomous, electronic_attack.jam.active: false.")


class Scenario(Strict):
    """An air-defence scenario: the defence, the raid, and readiness profiles."""

    _source: Any = PrivateAttr(default=None)  # the file it was read from (lines, comments)

    @property
    def source(self) -> Any:
        """Where the scenario was read from (load.Source), if from a file."""
        return self._source

    name: Identifier
    description: str = ""
    reference: Point | None = Field(
        None, description="Origin of the local east-north-up frame; default: the first sensor."
    )
    duration_s: PositiveSeconds
    untrained_crew_factor: Probability = Field(
        0.5, description="Multiplies pk and launch_reliability when a crew is untrained."
    )
    readiness: Readiness = Field(default_factory=Readiness, description="Defaults for all.")
    sensors: list[Sensor] = Field(default_factory=list)
    command_posts: list[CommandPost] = Field(default_factory=list)
    fire_units: list[FireUnit] = Field(default_factory=list)
    threats: list[Threat] = Field(default_factory=list)
    streams: list[Stream] = Field(default_factory=list)
    strikes: list[Strike] = Field(default_factory=list)
    electronic_attack: list[ElectronicAttack] = Field(default_factory=list)
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Named groups of entity ids."
    )
    group_readiness: dict[str, Readiness] = Field(default_factory=dict)
    shared_readiness: dict[str, list[ReadinessFactor]] = Field(
        default_factory=dict, description="Readiness factors a group draws once per run for all "
        "its members: one uniform, compared with each member's own probability (MODEL.md, "
        "Readiness), e.g. {s300: [deployed]} for a battery stored together. Structure, not a "
        "parameter; an entity may share a factor with one group only.")
    doctrine: list[Doctrine] = Field(
        default_factory=list, description="Fire doctrine by selection (ids, types, groups…); "
        "a later entry wins for the units it selects. Units no entry selects engage every "
        "class first-come, first-served.")
    profiles: dict[str, Profile] = Field(default_factory=dict)
    explanations: dict[str, list[str]] = Field(
        default_factory=dict, description="Named groups of parameters for `iadsim explain`: "
        "each a list of parameter paths, group paths or globs (fire_units.*.readiness."
        "trained); the Shapley attribution apportions a difference between two profiles "
        "among them.")

    @model_validator(mode="after")
    def _placed(self) -> Scenario:
        if self.reference is None and not self.sensors and not self.fire_units:
            raise _at("reference", "give a reference point {lat, lon}: with no sensor or fire "
                      "unit, nothing places the scenario's local frame")
        return self


Override.model_rebuild()
