"""Re-evaluating recorded runs from the audit store alone (tierlang/verification.py): the three
real methodologies reproduce bit for bit; an edited input shows the nodes and entities that
no longer follow; `rerun` takes the methodology and params from the store. Also checking a
methodology from memory (dsl.checker.check_sources), which both rely on."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import dsl
from audit import integrity, open_store
from dsl.checker import check_sources
from tierlang import api, verification

ROOT = Path(__file__).resolve().parent.parent
STP_CSV = ROOT / "examples/stp_2017/stp_2017.csv"
STP_ORGS = ROOT / "examples/stp_2017/organisations.csv"  # the member organisations (finance)
STP = (
    ROOT / "methodologies/stp_dashboard_2017.tier",
    api.Tables(str(STP_CSV), {"organisation": str(STP_ORGS)}),
)
CQC = (ROOT / "methodologies/cqc_adult_social_care.tier", ROOT / "examples/cqc/services.csv")
HDI = (ROOT / "methodologies/undp_hdi_groups.tier", ROOT / "examples/hdi/hdr_2022.csv")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("verify") / "audit.db"
    api.run(*STP, audit=db)
    api.run(*CQC, audit=db)
    api.run(*HDI, audit=db)
    api.run(*STP, params={"advanced_cutoff": 2.25, "leadership_cap": False}, audit=db)
    return db


@pytest.fixture
def db(pristine, tmp_path) -> Path:
    copy = tmp_path / "audit.db"
    shutil.copyfile(pristine, copy)
    return copy


def tamper(db: Path, statement: str, args=()) -> None:
    conn = sqlite3.connect(db)
    conn.execute(statement, args)
    conn.commit()
    conn.close()


def descendants(db: Path, run_id: int, name: str) -> set[str]:
    conn = sqlite3.connect(db)
    deps = {
        n: set(json.loads(d))
        for n, d in conn.execute("SELECT name, dependencies FROM nodes WHERE run = ?", (run_id,))
    }
    conn.close()
    found, frontier = set(), {name}
    while frontier:
        frontier = {n for n, d in deps.items() if d & frontier} - found
        found |= frontier
    return found


# ---------------------------------------------------------------- checking from memory


def test_check_sources_reads_nothing_from_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # none of these paths exist here
    base = 'methodology "Base"\nentity org key id\ninput x: number\ntier t from x {\n  a: >= 1\n  b: otherwise\n}\n'
    child = 'methodology "Child"\nextends "base.tier"\ninput y: number\nscore s = x + y\n'
    report = check_sources([("m/child.tier", child), ("m/base.tier", base)])
    assert report.errors == []
    m = report.methodology
    assert m.name == "Child"
    assert [n.name for n in m.nodes] == ["x", "t", "y", "s"]
    assert m.sources == (("m/child.tier", child), ("m/base.tier", base))


def test_check_sources_reports_an_extended_file_it_was_not_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.tier").write_text('methodology "On disk"\nentity org key id\n')
    report = check_sources([("child.tier", 'methodology "C"\nextends "base.tier"\n')])
    assert report.methodology is None
    assert [d.message for d in report.errors] == ["file not found: base.tier"]


def test_check_sources_ignores_what_test_data_files_there_are(tmp_path, monkeypatch):
    """`given data` names a file on disk, not a source: from memory it is not looked for."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "methodologies/undp_hdi_groups.tier").read_text(encoding="utf-8")
    assert dsl.check_file("elsewhere/hdi.tier", text).methodology is None  # the data is not there
    report = check_sources([("elsewhere/hdi.tier", text)])
    assert report.errors == []


def test_check_sources_gives_what_check_file_gives_for_the_real_methodologies():
    for path, _ in (STP, CQC, HDI):
        from_disk = dsl.check_file(path).methodology
        from_memory = check_sources(from_disk.sources).methodology
        assert from_memory is not None
        assert from_memory.sources == from_disk.sources
        assert [n.name for n in from_memory.nodes] == [n.name for n in from_disk.nodes]


def test_check_sources_needs_a_source():
    with pytest.raises(ValueError):
        check_sources([])


# ---------------------------------------------------------------- verify


def test_the_real_methodologies_reproduce_exactly(db):
    report = verification.verify(str(db))
    assert report.ok
    assert [r.run_id for r in report.runs] == [1, 2, 3, 4]
    for run in report.runs:
        assert run.reproduced and run.integrity.ok, run
        assert run.differences == () and run.other_differences == () and run.notes == ()
    # STP: 42 nodes x 44 STPs, plus its 2 organisation inputs x 316 organisations
    stp_values = 42 * 44 + 2 * 316
    assert [r.integrity.values for r in report.runs] == [stp_values, 540, 390, stp_values]


def test_verify_does_not_read_the_methodology_files(db, tmp_path, monkeypatch):
    """The store alone: the methodology files are neither needed nor consulted."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dsl.loader, "read_text", lambda path: pytest.fail(f"read {path}"))
    assert verification.verify(str(db)).ok


def test_a_methodology_that_extends_another_reproduces_from_the_store(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / ".tierlang-root").touch()
    (folder / "base.tier").write_text(
        'methodology "Base"\nentity org key id\ninput x: number\n'
        "score s = x * 2\ntier t from s {\n  a: >= 10\n  b: otherwise\n}\n"
    )
    (folder / "child.tier").write_text(
        'methodology "Child"\nextends "base.tier"\nparam k = 3\nscore s = x * k\n'
    )
    data = tmp_path / "data.csv"
    data.write_text("id,x\nA,1\nB,4\nC,\n")
    db = tmp_path / "audit.db"
    api.run(folder / "child.tier", data, params={"k": 5.0}, audit=db)
    shutil.rmtree(folder)
    report = verification.verify(str(db))
    assert report.ok, report.runs
    assert report.runs[0].integrity.values == 3 * 4  # x, k, s, t


def test_an_edited_input_shows_the_downstream_nodes_that_differ(db):
    conn = sqlite3.connect(db)
    first, stride = conn.execute(
        "SELECT first_value_id, values_per_entity FROM runs WHERE id = 1"
    ).fetchone()
    position = conn.execute(
        "SELECT position FROM nodes WHERE run = 1 AND name = 'ae_4hr'"
    ).fetchone()[0]
    key = conn.execute("SELECT key FROM entities WHERE run = 1 AND position = 0").fetchone()[0]
    old = conn.execute("SELECT num FROM node_values WHERE id = ?", (first + position,)).fetchone()[
        0
    ]
    conn.close()
    tamper(db, "UPDATE node_values SET num = 0.0 WHERE id = ?", (first + position,))
    report = verification.verify(str(db), [1])
    (run,) = report.runs
    assert not run.ok and not run.reproduced
    assert not run.integrity.content_ok and run.integrity.chain_ok
    differing = {d.node for d in run.differences}
    assert "ae_4hr" not in differing  # the input is what was edited: re-evaluation uses it
    assert {"ae_score", "emergency_care"} <= differing <= descendants(db, 1, "ae_4hr")
    ae_score = next(d for d in run.differences if d.node == "ae_score")
    assert ae_score.kind == "indicator"
    assert key in [k for k, _, _ in ae_score.examples]
    assert old != 0.0
    assert run.recorded_version == verification.__version__


def test_an_edited_tier_shows_that_node_only(db):
    tamper(
        db, "UPDATE node_values SET text = 'Very High' WHERE run = 3 AND node = 1 AND entity = 0"
    )
    (run,) = verification.verify(str(db), [3]).runs
    key = (
        sqlite3.connect(db)
        .execute("SELECT key FROM entities WHERE run = 3 AND position = 0")
        .fetchone()[0]
    )
    assert [(d.node, d.count, d.entities) for d in run.differences] == [("hdi_group", 1, 195)]
    assert run.differences[0].examples == ((key, '"Very High"', '"Low"'),)
    assert run.other_differences == ()


def test_numbers_are_compared_bit_for_bit(db):
    """The smallest possible change to a recorded score is a difference, shown exactly."""
    conn = sqlite3.connect(db)
    value_id, value = conn.execute(
        "SELECT v.id, v.num FROM node_values v JOIN nodes n ON n.run = v.run AND n.position = v.node "
        "WHERE v.run = 1 AND n.name = 'overall' AND v.num IS NOT NULL LIMIT 1"
    ).fetchone()
    conn.close()
    bumped = math.nextafter(value, math.inf)
    tamper(db, "UPDATE node_values SET num = ? WHERE id = ?", (bumped, value_id))
    (run,) = verification.verify(str(db), [1]).runs
    (difference,) = run.differences
    assert difference.node == "overall" and difference.count == 1
    _key, stored, recomputed = difference.examples[0]
    assert (stored, recomputed) == (repr(bumped), repr(value))


def test_an_edited_missing_reason_is_a_difference(db):
    tamper(
        db,
        "UPDATE node_values SET missing_reason = 'division_by_zero' WHERE id = "
        "(SELECT min(id) FROM node_values WHERE run = 3 AND missing_reason IS NOT NULL)",
    )
    (run,) = verification.verify(str(db), [3]).runs
    assert run.differing_values == 1
    assert "missing (division_by_zero)" in run.differences[0].examples[0][1]


def test_a_recorded_methodology_that_no_longer_checks_is_reported(db):
    tamper(
        db,
        "UPDATE methodologies SET sources = json_array(json_array('x.tier', 'garbage'))"
        " WHERE name LIKE 'UNDP%'",
    )
    (run,) = verification.verify(str(db), [3]).runs
    assert not run.ok
    assert run.error.startswith("its recorded methodology no longer checks with tierlang")


def test_params_edited_to_an_unknown_name_are_reported(db):
    tamper(db, "UPDATE runs SET params = '{\"nope\": 1}' WHERE id = 2")
    (run,) = verification.verify(str(db), [2]).runs
    assert run.error.startswith("its recorded params are refused: unknown param 'nope'")


def test_unknown_runs_are_an_audit_error(db):
    from audit.store import AuditError

    with pytest.raises(AuditError, match=r"no run 9 in the audit store .* \(runs recorded: 1-4\)"):
        verification.verify(str(db), [1, 9])


# ---------------------------------------------------------------- rerun


def test_rerun_uses_the_recorded_methodology_and_params_on_new_data(db, tmp_path):
    """Last year's method on this year's data: the methodology text comes from the store even
    when the file has changed since, and the params are the run's."""
    frame = pd.read_csv(STP_CSV, dtype=str)
    frame = frame.iloc[::-1].reset_index(drop=True)  # "this year": other rows, other order
    frame = frame.iloc[:30]
    new_data = tmp_path / "stp_new.csv"
    frame.to_csv(new_data, index=False)
    organisations = pd.read_csv(STP_ORGS, dtype=str)
    new_orgs = tmp_path / "organisations_new.csv"  # the members of those 30 STPs
    organisations[organisations["footprint"].isin(frame["footprint"])].to_csv(new_orgs, index=False)
    tables = api.Tables(str(new_data), {"organisation": str(new_orgs)})
    outcome = verification.rerun(4, tables, audit=str(db))
    assert outcome.run_id == 5
    with open_store(db) as store:
        old, new = store.run(4), store.run(5)
        assert new.rerun_of == 4 and old.rerun_of is None
        assert new.methodology_sha256 == old.methodology_sha256
        assert (
            new.params
            == old.params
            == {"transformation_weight": 0.5, "advanced_cutoff": 2.25, "leadership_cap": False}
        )
        assert new.entity_count == 30
        assert new.dataset_path == f"{new_data}; organisation={new_orgs}"
    report = verification.verify(str(db))
    assert report.ok and len(report.runs) == 5


def test_rerun_never_reads_the_methodology_file(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dsl.loader, "read_text", lambda path: pytest.fail(f"read {path}"))
    outcome = verification.rerun(3, HDI[1], audit=str(db))
    assert outcome.run_id == 5
    assert outcome.methodology.path == str(HDI[0])  # as recorded for run 3


def test_rerun_of_an_unknown_run_is_an_audit_error(db):
    from audit.store import AuditError

    with pytest.raises(AuditError, match="no run 42"):
        verification.rerun(42, HDI[1], audit=str(db))
    assert integrity.run_ids(sqlite3.connect(db)) == [1, 2, 3, 4]
