"""Phrase guides (phrasebook/*.toml) loaded and validated into typed data.

OWNER: matcher helper. Interface below is shared; add fields, don't rename.
Everything an agency may want to change (wording, key terms, weights, thresholds,
requirements, order, finding severities and messages) lives in the TOML, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class GuideError(Exception):
    """Invalid guide. str(err) names the file, the entry and the field (and the line when known)."""


@dataclass(frozen=True)
class Slot:
    name: str  # time, date, place, cause, licence, violation, law, article, amount, deadline, authority, court...
    kind: str  # how a filled slot is recognised (see normalize/match)
    pattern: str = ""  # regex on normalized text for what a filled slot looks like
    required: bool = True
    title: str = ""  # Chinese label


@dataclass(frozen=True)
class KeyTerm:
    term: str
    weight: float = 1.0
    alternatives: tuple[str, ...] = ()  # equivalent wordings (e.g. 行政复议 for 行政救济)


@dataclass(frozen=True)
class Phrase:
    id: str
    title: str  # Chinese
    source: str  # where in the regulation / 用语指引 it comes from
    standards: tuple[str, ...]  # standard wordings; slots written as {name}
    slots: tuple[Slot, ...] = ()
    key_terms: tuple[KeyTerm, ...] = ()
    weight: float = 1.0  # share of the recording score
    required: str = "profile"  # "always" | "profile" | "triggered" | "optional"
    triggered_by: tuple[str, ...] = ()  # phrase ids (or "fine") whose presence makes this required
    tip: str = ""  # Chinese training tip


@dataclass(frozen=True)
class OrderRule:
    first: str  # phrase id that must come first
    then: str  # phrase id that must come after
    code: str  # finding code when violated, e.g. rights_before_penalty
    only_if_both: bool = True


@dataclass(frozen=True)
class Profile:
    id: str  # inspection, on_site_penalty, investigation, service
    title: str
    requires: tuple[str, ...]  # phrase ids
    indicators: tuple[str, ...] = ()  # phrase ids / terms whose presence suggests this profile


@dataclass(frozen=True)
class FindingDef:
    code: str
    severity: str  # critical | major | minor | info
    message: str  # Chinese template; may use {phrase}, {start}, {duration}, {missing}


@dataclass(frozen=True)
class Guide:
    id: str
    title: str
    version: str
    path: str
    phrases: tuple[Phrase, ...]
    profiles: tuple[Profile, ...]
    order_rules: tuple[OrderRule, ...] = ()
    findings: dict[str, FindingDef] = field(default_factory=dict)
    settings: dict[str, float] = field(default_factory=dict)  # thresholds, windows, weights

    def phrase(self, phrase_id: str) -> Phrase:
        for p in self.phrases:
            if p.id == phrase_id:
                return p
        raise KeyError(phrase_id)
