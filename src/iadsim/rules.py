"""The rules of MODEL.md that both engines share, each defined once: which readiness factors make
each kind of entity work, the kill-chain links and their order, what an engagement's outcome
means for its passage, and what a run counts per fire unit."""

from __future__ import annotations

import math

from iadsim.scenario.schema import FACTORS_OF_KIND, READINESS_FACTORS

INF = math.inf

KINDS = ("sensor", "command_post", "fire_unit")

# columns of a readiness table, in READINESS_FACTORS order
AVAILABLE, DEPLOYED, EMITTING, CONNECTED, TRAINED = range(len(READINESS_FACTORS))
# the factors that must all be drawn true for an entity of each kind to work at all
UP = {"sensor": (AVAILABLE, DEPLOYED, EMITTING), "command_post": (AVAILABLE, DEPLOYED),
      "fire_unit": (AVAILABLE, DEPLOYED)}
# the factors that act on each kind: `up`, a sensor's link (to its command post or fire unit), a
# fire unit's link to its command post (orders reach it) and its crew
FACTORS = {kind: tuple(READINESS_FACTORS.index(f) for f in names)
           for kind, names in FACTORS_OF_KIND.items()}

# command-post authority (MODEL.md); a unit with no command post engages on its own
AUTHORITIES = ("central", "delegated", "autonomous")
CENTRAL, DELEGATED, AUTONOMOUS = range(len(AUTHORITIES))

LINKS = ("unit_ready", "detected", "reported", "ordered", "fire_control", "magazine", "channel",
         "launched", "killed")
UNIT_READY, DETECTED, REPORTED, ORDERED, FIRE_CONTROL, MAGAZINE, CHANNEL, LAUNCHED, KILLED = \
    range(len(LINKS))
HELD_LINKS = FIRE_CONTROL + 1  # links 1–5, whose holding is worked out before the battle
# a passage that the unit's fire doctrine does not engage: held fire, not a broken link; the
# passage table names it next to the links
HELD = len(LINKS)
PASSAGE_LINKS = (*LINKS, "held")

# the outcome of an engagement, and the link its passage broke at when it was the last one
NO_ENGAGEMENT, ABORTED, NO_LAUNCH, MISS, KILL = range(5)
# (a passage with no engagement broke at a link that never held, at `magazine` or at `channel`)
LINK_OF_OUTCOME = (-1, UNIT_READY, LAUNCHED, KILLED, KILLED)

UNIT_COUNTS = ("engagements", "launches", "launch_failures", "misses", "kills", "missiles_fired")
ENGAGEMENTS, LAUNCHES, LAUNCH_FAILURES, MISSES, KILLS, MISSILES_FIRED = range(len(UNIT_COUNTS))
