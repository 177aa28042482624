"""Realistic annual village reports (definitions/indicators/village_basic/v1.json) for every generated village.

Totals are derived from their parts, so every hard rule holds and the soft rules too (household size
2.6–3.9, resident population within ±50 %, transfers below the cultivated area): a benchmark of
submissions must not be a benchmark of rejections. Deterministic per village code and year.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.definitions import IndicatorSet, load_indicator_file
from engine.expressions import compile_expression
from engine.orgs import UnitRow

VILLAGE_REPORT_FILE = Path(__file__).resolve().parents[1] / "definitions" / "indicators" / "village_basic" / "v1.json"

_SURNAMES = "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 郑".split()
_GIVEN = "建国 丽 明 芳 伟 强 敏 静 军 勇 杰 娟 涛 华 平 红 霞 斌 玲 鹏".split()


def load_village_report() -> IndicatorSet:
    return load_indicator_file(VILLAGE_REPORT_FILE)


def split(total: int, parts: int, rng: random.Random, weights: Iterable[float] | None = None) -> list[int]:
    """``parts`` non-negative integers summing to ``total`` (largest-remainder rounding of random shares)."""
    shares = [w * rng.uniform(0.5, 1.5) for w in (weights or [1.0] * parts)]
    scale = total / sum(shares)
    exact = [s * scale for s in shares]
    floors = [int(x) for x in exact]
    by_remainder = sorted(range(parts), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in by_remainder[: total - sum(floors)]:
        floors[i] += 1
    return floors


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def village_report(code: str, name: str, *, year: int = 2024) -> dict[str, Any]:
    rng = random.Random(f"{code}-{year}")
    households = rng.randint(80, 900)
    pop = round(households * rng.uniform(2.6, 3.9))
    male = round(pop * rng.uniform(0.48, 0.53))
    lt18 = round(pop * rng.uniform(0.12, 0.22))
    p60 = round(pop * rng.uniform(0.18, 0.32))
    p80 = round(p60 * rng.uniform(0.12, 0.25))
    p90 = round(p80 * rng.uniform(0.1, 0.25))
    age_18_59 = pop - lt18 - p60
    labour = round(age_18_59 * rng.uniform(0.85, 1.0))
    migrants = round(labour * rng.uniform(0.15, 0.45))
    in_county, in_province, out_province = split(migrants, 3, rng, (3, 4, 2))
    land_cents = [rng.randint(30_000, 300_000), rng.randint(0, 30_000), rng.randint(0, 200_000),
                  rng.choice((0, rng.randint(0, 5_000))), rng.randint(0, 10_000), rng.randint(0, 8_000)]
    cultivated = land_cents[0] / 100
    farming = split(round(households * rng.uniform(0.6, 0.9)), 6, rng, (60, 20, 8, 5, 2, 1))
    dibao_households = rng.randint(2, 30)
    income = round(rng.uniform(5, 300), 2)
    labour_section: dict[str, Any] = {
        "labour_resource": labour,
        "migrant_workers": migrants,
        "migrant_in_county": in_county,
        "migrant_in_province": in_province,
        "migrant_out_province": out_province,
    }
    if migrants > 0:  # x-relevant: only asked when someone works away
        labour_section["migrant_year_round"] = round(migrants * rng.uniform(0.5, 0.8))
    hh = split(households, 4, rng, (3, 4, 2, 1.5))
    return {
        "basic": {
            "report_year": year,
            "division_code": code,
            "village_name": name,
            "unit_kind": "village" if 200 <= int(code[9:]) <= 399 else "community",
            "urban_rural_class": "220",
            "villager_group_count": rng.randint(3, 15),
        },
        "households": {
            "household_total": households,
            "hh_pure_farm": hh[0],
            "hh_farm_part_time": hh[1],
            "hh_nonfarm_part_time": hh[2],
            "hh_nonfarm": hh[3],
        },
        "population": {
            "pop_total": pop,
            "pop_male": male,
            "pop_female": pop - male,
            "pop_age_lt18": lt18,
            "pop_age_18_59": age_18_59,
            "pop_age_60p": p60,
            "pop_age_80p": p80,
            "pop_age_90p": p90,
            "pop_age_100p": rng.randint(0, min(2, p90)),
            "resident_pop": round(pop * rng.uniform(0.65, 1.15)),
        },
        "labour": labour_section,
        "land": {
            "land_collective_total": sum(land_cents) / 100,
            "land_cultivated": cultivated,
            "land_garden": land_cents[1] / 100,
            "land_forest": land_cents[2] / 100,
            "land_grass": land_cents[3] / 100,
            "land_water": land_cents[4] / 100,
            "land_other": land_cents[5] / 100,
        },
        "land_transfer": {
            kind: dict(zip(("lease", "subcontract", "shareholding", "other"),
                           (c / 100 for c in split(round(area * rng.uniform(0, 0.4) * 100), 4, rng, (5, 2, 2, 1))),
                           strict=True))
            for kind, area in (("cultivated", cultivated), ("garden", land_cents[1] / 100),
                               ("forest", land_cents[2] / 100))
        },
        "farm_scale": dict(zip(("farm_size_lt10", "farm_size_10_30", "farm_size_30_50", "farm_size_50_100",
                                "farm_size_100_200", "farm_size_200p"), farming, strict=True)),
        "party_welfare": {
            "party_members": round(pop * rng.uniform(0.03, 0.06)),
            "dibao_households": dibao_households,
            "dibao_persons": dibao_households + rng.randint(0, dibao_households),
        },
        "collective": {
            "collective_income_total": income,
            "collective_operating_income": round(income * rng.uniform(0.2, 0.8), 2),
        },
        "filler": {
            "unit_head": _person(rng),
            "stat_head": _person(rng),
            "filler_name": _person(rng),
            "filler_phone": f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
            "report_date": f"{year + 1}-02-{rng.randint(1, 28):02d}",
        },
    }


def with_calculations(ind: IndicatorSet, doc: dict[str, Any]) -> dict[str, Any]:
    """Fill calculated fields (outside repeats) with the definition's own expressions, as the form shows them."""
    for spec in ind.leaves():
        if spec.calculate and spec.array_key is None:
            holder = doc
            for part in spec.path[:-1]:
                holder = holder.setdefault(part, {})
            holder[spec.name] = compile_expression(spec.calculate).evaluate(ind.scope(doc))
    return doc


def village_reports(
    ind: IndicatorSet, villages: Iterable[UnitRow], *, year: int = 2024
) -> list[tuple[str, dict[str, Any]]]:
    """(village code, report) for every village, calculated fields filled in."""
    return [(v.code, with_calculations(ind, village_report(v.code, v.name, year=year))) for v in villages]
