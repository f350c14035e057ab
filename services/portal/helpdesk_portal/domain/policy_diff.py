"""What changed between two versions of a policy, as the same tables an admin reads a version in:
rows matched by their key, each changed cell holding the old and the new value.

Tables rather than a text diff: an admin reads "Error × Urgent: resolution 1bd → 2bd", not which
TOML lines moved; a row reordered in the file is no change at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk_portal.domain.policy_tables import Row, Table


@dataclass
class Cell:
    new: str
    old: str | None = None  # set when the cell changed

    @property
    def changed(self) -> bool:
        return self.old is not None


@dataclass
class RowChange:
    state: str  # "added", "removed" or "changed"
    cells: list[Cell]
    rules: list[str]


@dataclass
class TableChange:
    key: str
    title: str
    columns: list[str]
    rows: list[RowChange]


def compare(old: list[Table], new: list[Table]) -> list[TableChange]:
    """The tables that differ, with only their differing rows (same rows are left out)."""
    before = {table.key: table for table in old}
    changes = []
    for table in new:
        rows = _rows(before.get(table.key, Table(table.key, table.title, table.columns, [])).rows, table.rows)
        if rows:
            changes.append(TableChange(table.key, table.title, table.columns, rows))
    return changes


def _rows(old: list[Row], new: list[Row]) -> list[RowChange]:
    before = {row.key: row for row in old}
    after = {row.key for row in new}
    changes = []
    for row in new:
        previous = before.get(row.key)
        if previous is None:
            changes.append(RowChange("added", [Cell(c) for c in row.cells], row.rules))
        elif previous.cells != row.cells or previous.rules != row.rules:
            cells = [Cell(c, None if c == o else o) for c, o in zip(row.cells, previous.cells, strict=False)]
            changes.append(RowChange("changed", cells, row.rules))
    changes += [RowChange("removed", [Cell(c) for c in row.cells], row.rules) for row in old if row.key not in after]
    return changes
