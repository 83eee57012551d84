"""A run's lower levels (entities at several levels): the levels, their members, and each
member's place (parent, ancestors, descendants)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.errors import AuditError
from audit.read.records import EntityRef, LevelInfo
from audit.read.run import Level
from audit.write.rows import LEVEL_COLUMNS

if TYPE_CHECKING:
    from audit.store import AuditStore

def levels(store: AuditStore, run_id: int) -> list[LevelInfo]:
    """The run's lower levels, each after its parent; empty for a single-level run."""
    columns = ", ".join((*LEVEL_COLUMNS, "first_value_id"))
    return [
        LevelInfo(run_id, *row)
        for row in store.conn.execute(
            f"SELECT {columns} FROM levels WHERE run = ? ORDER BY position", (run_id,)
        )
    ]

def level(store: AuditStore, run_id: int, name: str) -> LevelInfo:
    for lv in store.levels(run_id):
        if lv.name == name:
            return lv
    raise AuditError(f"run {run_id} has no entity level '{name}'")

def members(
    store: AuditStore, run_id: int, level: str, parent_key: str | None = None
) -> list[EntityRef]:
    """The entities of a lower level in data order (those within `parent_key` only, if
    given: the key of an entity of the level's parent level)."""
    if parent_key is None:
        return members_where(store, run_id, "m.level = ?", (level,))
    return members_where(store,
        run_id, "m.level = ? AND m.parent_key = ?", (level, parent_key)
    )

def parent(store: AuditStore, run_id: int, entity: EntityRef) -> EntityRef | None:
    """The entity `entity` lies within (None for a top-level entity, or a member whose
    parent is not recorded)."""
    if entity.level is None or entity.parent_key is None:
        return None
    level = store.level(run_id, entity.level)
    if level.parent not in {lv.name for lv in store.levels(run_id)}:  # the top level
        row = store.conn.execute(
            "SELECT position, key, label FROM entities WHERE run = ? AND key = ?",
            (run_id, entity.parent_key),
        ).fetchone()
        return None if row is None else EntityRef(run_id, *row)
    found = members_where(store,
        run_id, "m.level = ? AND m.key = ?", (level.parent, entity.parent_key)
    )
    return found[0] if found else None

def ancestors(store: AuditStore, run_id: int, entity: EntityRef) -> list[EntityRef]:
    """The entities `entity` lies within, nearest first, up to its top-level entity."""
    out = []
    current = store.parent(run_id, entity)
    while current is not None and len(out) < 64:
        out.append(current)
        current = store.parent(run_id, current)
    return out

def descendants(store: AuditStore, run_id: int, entity: EntityRef, level: str) -> list[EntityRef]:
    """The members of `level` that lie within `entity` (at any depth), in data order."""
    levels = {lv.name: lv for lv in store.levels(run_id)}
    if level == entity.level:
        return []
    path = []  # the levels from `level` up to just below the entity's level
    current = level
    while current in levels and len(path) <= len(levels):
        path.append(current)
        parent = levels[current].parent
        if parent == entity.level or (entity.level is None and parent not in levels):
            break
        current = parent
    else:
        return []  # `level` does not lie below the entity's level
    keys = [entity.key]
    found: list[EntityRef] = []
    for name in reversed(path):
        found = []
        for key in keys:
            found += store.members(run_id, name, key)
        keys = [m.key for m in found]
    return sorted(found, key=lambda m: m.position)

def member_values(
    store: AuditStore, run_id: int, level: str | LevelInfo, position: int
) -> dict[str, tuple[Any, str | None]]:
    """Every node's (value, missing reason) for one member of a lower level (its name, or
    its LevelInfo to save looking it up): one index range read."""
    info = level if isinstance(level, LevelInfo) else store.level(run_id, level)
    return Level.lower(store.conn, info).values_of(position)


def members_where(store: AuditStore, run_id: int, where: str, args: tuple) -> list[EntityRef]:
    return [
        EntityRef(run_id, position, key, label, level, parent)
        for level, position, key, label, parent in store.conn.execute(
            "SELECT m.level, m.position, m.key, m.label, m.parent_key FROM members m "
            "JOIN levels l ON l.run = m.run AND l.name = m.level "
            f"WHERE m.run = ? AND {where} ORDER BY l.position, m.position",
            (run_id, *args),
        )
    ]
