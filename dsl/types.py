"""Types of the Tier language: number, boolean, text, ordered level types, lists of these;
each either per entity (one value per organisation) or scalar (one value for the run)."""

from __future__ import annotations

import attrs


@attrs.frozen
class LevelType:
    """An ordered set of labels, worst first: `level inadequate < ... < outstanding`."""

    name: str
    labels: tuple[str, ...]
    not_rated: tuple[str, ...] = ()  # data spellings read as missing ("Inspected but not rated")

    def order(self, label: str) -> int:
        """Position from worst (0) to best (len - 1)."""
        return self.labels.index(label)

    def __contains__(self, label: str) -> bool:
        return label in self.labels

    def describe(self) -> str:
        return " < ".join(self.labels)


NUMBER = "number"
BOOLEAN = "boolean"
TEXT = "text"
LEVEL = "level"
LIST = "list"


@attrs.frozen(cache_hash=True)  # a key of the evaluator's per-read caches: hashed often
class Type:
    base: str  # NUMBER, BOOLEAN, TEXT, LEVEL or LIST
    level: LevelType | None = None  # for LEVEL
    item: Type | None = None  # for LIST
    scalar: bool = False  # one value for the run, not one per entity

    def __str__(self) -> str:
        if self.base == LEVEL:
            text = f"level {self.level.name}"
        elif self.base == LIST:
            text = f"list of {self.item.base if self.item.base != LEVEL else 'level ' + self.item.level.name}"
        else:
            text = self.base
        return f"scalar {text}" if self.scalar else text

    @property
    def is_numeric(self) -> bool:
        return self.base == NUMBER

    def as_scalar(self, scalar: bool = True) -> Type:
        return attrs.evolve(self, scalar=scalar)

    def same_kind(self, other: Type) -> bool:
        """Equal but for scalar/per-entity."""
        return self.base == other.base and self.level == other.level and (
            self.item is None or other.item is None or self.item.same_kind(other.item))


def number(scalar: bool = False) -> Type:
    return Type(NUMBER, scalar=scalar)


def boolean(scalar: bool = False) -> Type:
    return Type(BOOLEAN, scalar=scalar)


def text(scalar: bool = False) -> Type:
    return Type(TEXT, scalar=scalar)


def level(level_type: LevelType, scalar: bool = False) -> Type:
    return Type(LEVEL, level=level_type, scalar=scalar)


def list_of(item: Type) -> Type:
    return Type(LIST, item=item.as_scalar(False), scalar=item.scalar)
