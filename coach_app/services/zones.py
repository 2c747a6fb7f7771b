"""Which IANA time zones people choose from: current names, grouped by region.

`zoneinfo.available_timezones()` holds about 600 names, many of them old aliases kept for
compatibility (Africa/Asmera, Asia/Calcutta, US/Eastern, Etc/GMT+5). People choose from the
zones tzdata itself lists per country (zone.tab and zone1970.tab: one current name for every
place, Europe/Amsterdam and Asia/Kolkata included), plus UTC. An alias a person already has
stays valid everywhere (`check_timezone` accepts every name zoneinfo knows); the forms only
stop offering aliases to newcomers. tzdata.zi's link lines say what an alias now points to,
so a browser that reports Asia/Calcutta still gets Asia/Kolkata preselected.
"""

import os
import zoneinfo
from dataclasses import dataclass
from functools import cache
from importlib import resources

UTC_NAME = "UTC"
# Zones that are not places: fixed offsets and aliases of UTC.
_NOT_PLACES = ("Etc/", "SystemV/", "US/")


@dataclass(frozen=True)
class ZoneChoice:
    """One zone as a select shows it: 'America/Argentina/Buenos_Aires' -> region 'America',
    label 'Argentina / Buenos Aires'."""

    value: str
    label: str
    region: str | None


def _tzdata_text(name: str) -> str | None:
    """A tzdata table file from the system zone directory, else from the tzdata package."""
    for directory in zoneinfo.TZPATH:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return handle.read()
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


def _tab_names(text: str | None) -> set[str]:
    names = set()
    for line in (text or "").splitlines():
        if line and not line.startswith("#"):
            columns = line.split("\t")
            if len(columns) >= 3:
                names.add(columns[2].strip())
    return names


@cache
def known_zones() -> frozenset[str]:
    """Every name zoneinfo can load here, aliases included."""
    return frozenset(zoneinfo.available_timezones())


@cache
def canonical_zones() -> frozenset[str]:
    """Current place names (tzdata's per-country tables) that load here, plus UTC."""
    known = known_zones()
    listed = _tab_names(_tzdata_text("zone.tab")) | _tab_names(_tzdata_text("zone1970.tab"))
    if not listed:
        # No tables on this system: fall back to region/city names without the known aliases.
        listed = {z for z in known if "/" in z and not z.startswith(_NOT_PLACES)}
    return frozenset(z for z in listed if z in known) | {UTC_NAME}


@cache
def alias_targets() -> dict[str, str]:
    """Alias -> the current name it links to (only where that name is offered)."""
    links: dict[str, str] = {}
    for line in (_tzdata_text("tzdata.zi") or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    offered = canonical_zones()
    targets = {"Etc/UTC": UTC_NAME, "Etc/UCT": UTC_NAME, "Etc/Universal": UTC_NAME}
    for alias, target in links.items():
        seen = {alias}
        while target not in offered and target in links and target not in seen:
            seen.add(target)
            target = links[target]
        if alias not in offered and target in offered:
            targets[alias] = target
    return targets


def zone_label(name: str) -> str:
    """The place, readable: 'America/Argentina/Buenos_Aires' -> 'Argentina / Buenos Aires'."""
    place = name.split("/", 1)[1] if "/" in name else name
    return place.replace("_", " ").replace("/", " / ")


@cache
def timezone_choices() -> tuple[ZoneChoice, ...]:
    """UTC first, then every current zone grouped by region (A-Z), places A-Z within each."""
    zones = [
        ZoneChoice(z, zone_label(z), z.split("/", 1)[0]) for z in canonical_zones() if "/" in z
    ]
    zones.sort(key=lambda c: (c.region, c.label.casefold()))
    return (ZoneChoice(UTC_NAME, UTC_NAME, None), *zones)


def describe_stored(name: str) -> str:
    """How a stored zone that is no longer offered reads in a select."""
    target = alias_targets().get(name)
    return f"{name} (an older name; same clock as {target})" if target else name
