"""The size of the generated province: counts below villages follow the real province's proportions."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# The reference province: 35,065 villages in ~1,500 townships, ~90 counties and 11 cities.
DEFAULT_VILLAGES = 35065
_TOWNSHIPS_PER_VILLAGE = 1500 / DEFAULT_VILLAGES
_COUNTIES_PER_VILLAGE = 90 / DEFAULT_VILLAGES
_CITIES_PER_VILLAGE = 11 / DEFAULT_VILLAGES
# Code space of engine.orgs.generate_province: 500 township codes per county, 200 village codes per township.
_MAX_TOWNSHIPS_PER_COUNTY = 500
_MAX_VILLAGES_PER_TOWNSHIP = 200


@dataclass(frozen=True)
class Scale:
    villages: int
    townships: int
    counties: int
    cities: int

    @classmethod
    def for_villages(cls, villages: int) -> Scale:
        if villages < 1:
            raise ValueError("villages must be at least 1")
        cities = max(1, round(villages * _CITIES_PER_VILLAGE))
        counties = max(cities, round(villages * _COUNTIES_PER_VILLAGE))
        townships = max(counties, round(villages * _TOWNSHIPS_PER_VILLAGE), -(-villages // _MAX_VILLAGES_PER_TOWNSHIP))
        townships = min(townships, villages)
        counties = max(min(counties, townships), -(-townships // _MAX_TOWNSHIPS_PER_COUNTY))
        cities = min(cities, counties)
        return cls(villages=villages, townships=townships, counties=counties, cities=cities)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
