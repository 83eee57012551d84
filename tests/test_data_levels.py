"""Preparing the data of a methodology with several entity levels (interpreter/data.py,
`prepare_inputs(methodology, dataset, tables)` and `combine_datasets`).

The parser does not read `entity X within Y` and `input ... per LEVEL` here: the methodologies
are checked single-level sources given their levels afterwards (`attrs.evolve`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs
import pandas as pd
import pytest

import dsl
from dsl.model import EntityLevel, Methodology
from interpreter.data import (
    Dataset,
    PreparedInputs,
    combine_datasets,
    prepare_inputs,
    read_dataset,
)
from interpreter.errors import DataError, DataProblem, render_data_error
from interpreter.levels import LevelInputs

SOURCE = """methodology "Levels"
entity trust key trust_code label trust_name
type rating = level inadequate < good < outstanding
input deficit: boolean
input income: number
input beds: number range 0..10000
input site: text
input safe: rating "Safe"
input staff: number required
"""

TRUST = EntityLevel("trust", "trust_code", "trust_name", None)
LOCATION = EntityLevel("location", "location_id", "location_name", "trust")
SERVICE = EntityLevel("service", "service_id", None, "location")
NODE_LEVELS = {"beds": "location", "site": "location", "safe": "service", "staff": "service"}


def three_levels(levels=(TRUST, LOCATION, SERVICE), node_levels=None) -> Methodology:
    m = dsl.check_source(SOURCE, "levels.tier")
    node_levels = NODE_LEVELS if node_levels is None else node_levels
    return attrs.evolve(
        m,
        levels=tuple(levels),
        nodes=tuple(attrs.evolve(n, level=node_levels.get(n.name)) for n in m.nodes),
    )


M = three_levels()

TRUSTS = """trust_code,trust_name,deficit,income
R1,North,true,10
R2,South,no,20
R3,East,false,
"""
LOCATIONS = """location_id,location_name,trust_code,beds,site
L1,North General,R1,400,hospital
L2,South General,R2,350,hospital
L3,North Clinic,R1,0,clinic
"""
SERVICES = """service_id,location_id,safe,staff
S1,L1,good,10
S2,L1,Outstanding,12
S3,L2,inadequate,7
S4,L3,good,3
"""
# long form: one row per service, with every level's key, label and inputs
LONG = """trust_code,trust_name,deficit,income,location_id,location_name,beds,site,service_id,safe,staff
R1,North,true,10,L1,North General,400,hospital,S1,good,10
R1,North,yes,10,L1,North General,400,hospital,S2,Outstanding,12
R2,South,no,20,L2,South General,350,hospital,S3,inadequate,7
R1,North,TRUE,10.0,L3,North Clinic,0,clinic,S4,good,3
"""


def table(tmp_path: Path, name: str, content: str) -> Dataset:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", newline="")
    return read_dataset(path)


def error_of(call) -> DataError:
    with pytest.raises(DataError) as info:
        call()
    return info.value


def check_prepared_three_levels(prepared: PreparedInputs) -> None:
    """The entities and inputs of TRUSTS/LOCATIONS/SERVICES (or LONG, without trust R3)."""
    assert prepared.frame.index.name == "trust_code"
    assert list(prepared.frame.columns) == ["deficit", "income"]
    assert prepared.frame.loc["R1", "deficit"] is True or bool(prepared.frame.loc["R1", "deficit"])
    assert str(prepared.frame["deficit"].dtype) == "boolean"
    assert list(prepared.members) == ["location", "service"]

    locations = prepared.members["location"]
    assert isinstance(locations, LevelInputs)
    assert locations.frame.index.name == "location_id"
    assert locations.frame.index.tolist() == ["L1", "L2", "L3"]
    assert locations.frame["beds"].tolist() == [400.0, 350.0, 0.0]
    assert locations.frame["beds"].dtype == "float64"
    assert locations.frame["site"].tolist() == ["hospital", "hospital", "clinic"]
    assert locations.labels.tolist() == ["North General", "South General", "North Clinic"]
    assert locations.parents.tolist() == ["R1", "R2", "R1"]
    assert locations.parents.index.equals(locations.frame.index)
    assert locations.parents.dtype == object

    services = prepared.members["service"]
    assert services.frame.index.name == "service_id"
    assert services.frame.index.tolist() == ["S1", "S2", "S3", "S4"]
    assert services.frame["safe"].tolist() == ["good", "outstanding", "inadequate", "good"]
    assert list(services.frame["safe"].cat.categories) == ["inadequate", "good", "outstanding"]
    assert services.frame["staff"].tolist() == [10.0, 12.0, 7.0, 3.0]
    assert services.labels is None
    assert services.parents.tolist() == ["L1", "L1", "L2", "L3"]


# ---------------------------------------------------------------- tables per level


def test_a_table_per_level(tmp_path):
    trusts = table(tmp_path, "trusts.csv", TRUSTS)
    locations = table(tmp_path, "locations.csv", LOCATIONS)
    services = table(tmp_path, "services.csv", SERVICES)
    prepared = prepare_inputs(M, trusts, {"location": locations, "service": services})
    check_prepared_three_levels(prepared)
    # a trust with no locations (R3) is an entity like any other
    assert prepared.frame.index.tolist() == ["R1", "R2", "R3"]
    assert prepared.frame["deficit"].tolist() == [True, False, False]
    assert prepared.frame["income"].tolist()[:2] == [10.0, 20.0]
    assert pd.isna(prepared.frame.loc["R3", "income"])
    assert prepared.labels.tolist() == ["North", "South", "East"]
    dataset = prepared.dataset
    assert dataset.format == "tables"
    assert dataset.path == f"{trusts.path}; location={locations.path}; service={services.path}"
    assert dataset.rows == 3 + 3 + 4
    assert dataset.parts == ((None, trusts), ("location", locations), ("service", services))


def test_every_table_named_and_no_unnamed_table(tmp_path):
    tables = {
        "service": table(tmp_path, "services.csv", SERVICES),
        "trust": table(tmp_path, "trusts.csv", TRUSTS),
        "location": table(tmp_path, "locations.csv", LOCATIONS),
    }
    prepared = prepare_inputs(M, None, tables)
    check_prepared_three_levels(prepared)
    assert [name for name, _ in prepared.dataset.parts] == ["location", "service", "trust"]


def test_long_form_one_table_at_the_deepest_level(tmp_path):
    long = table(tmp_path, "long.csv", LONG)
    prepared = prepare_inputs(M, long)
    check_prepared_three_levels(prepared)
    # entities of a derived level: distinct keys in first-appearance order, first row's values
    assert prepared.frame.index.tolist() == ["R1", "R2"]
    assert prepared.frame["deficit"].tolist() == [True, False]  # true, yes, TRUE: one value
    assert prepared.frame["income"].tolist() == [10.0, 20.0]  # 10 and 10.0: one number
    assert prepared.labels.tolist() == ["North", "South"]
    assert prepared.labels.index.name == "trust_code"
    assert prepared.dataset is long  # one table: the Dataset as read


def test_the_unnamed_table_goes_to_the_deepest_level_whose_key_it_has(tmp_path):
    # LOCATIONS has location_id and trust_code: it is the locations' table, and the trusts
    # are read from it (the nearest descendant's table), the services from their own
    long_locations = (
        "trust_code,trust_name,deficit,income,location_id,location_name,beds,site\n"
        "R2,South,no,20,L2,South General,350,hospital\n"
        "R1,North,true,10,L1,North General,400,hospital\n"
        "R1,North,true,10,L3,North Clinic,0,clinic\n"
    )
    locations = table(tmp_path, "locations.csv", long_locations)
    services = table(tmp_path, "services.csv", SERVICES)
    prepared = prepare_inputs(M, locations, {"service": services})
    assert prepared.frame.index.tolist() == ["R2", "R1"]
    assert prepared.members["location"].frame.index.tolist() == ["L2", "L1", "L3"]
    assert prepared.members["location"].parents.tolist() == ["R2", "R1", "R1"]
    assert prepared.members["service"].parents.tolist() == ["L1", "L1", "L2", "L3"]


def test_intermediate_level_read_from_a_descendant_while_the_top_has_its_own(tmp_path):
    trusts = table(tmp_path, "trusts.csv", TRUSTS)
    services = table(
        tmp_path,
        "services.csv",
        "service_id,location_id,location_name,trust_code,beds,site,safe,staff\n"
        "S1,L1,North General,R1,400,hospital,good,10\n"
        "S2,L1,North General,R1,400.0,hospital,outstanding,12\n"
        "S3,L2,South General,R2,350,hospital,inadequate,7\n"
        "S4,L3,North Clinic,R1,0,clinic,good,3\n",
    )
    # the unnamed table has only the trusts' key: it is the trusts' table
    prepared = prepare_inputs(M, trusts, {"service": services})
    check_prepared_three_levels(prepared)
    assert prepared.frame.index.tolist() == ["R1", "R2", "R3"]
    assert prepared.dataset.path == f"{trusts.path}; service={services.path}"


# ---------------------------------------------------------------- problems


def test_conflicting_values_of_one_entity_in_the_long_form(tmp_path):
    content = (
        "trust_code,trust_name,deficit,income,location_id,location_name,beds,site,service_id,safe,staff\n"
        "R1,North,true,10,L1,North General,400,hospital,S1,good,10\n"
        "R1,North,false,10,L1,North General,400,hospital,S2,good,12\n"  # deficit differs
        "R2,South,no,20,L2,South General,350,hospital,S3,inadequate,7\n"
        "R1,North,no,10,L3,North Clinic,0,clinic,S4,good,3\n"  # once per trust and column
        "R2,South,no,20,L2,Southern,350,,S5,good,1\n"  # label and an empty site
        "R2,South,no,20,L1,North General,400,hospital,S6,good,2\n"  # L1 moves trust
    )
    long = table(tmp_path, "long.csv", content)
    error = error_of(lambda: prepare_inputs(M, long))
    assert {p.code for p in error.problems} == {"inconsistent-member"}
    assert {p.source for p in error.problems} == {long.path}
    assert error.source == long.path
    assert render_data_error(error) == (
        f"{long.path}: 4 problems in the data:\n"
        '  column "deficit": trust "R1" is "true" in row 2 but "false" in row 3\n'
        "    help: every row of one trust must give it the same value; or give level trust its "
        "own table: --data trust=FILE\n"
        '  column "trust_code": location "L1" is "R1" in row 2 but "R2" in row 7\n'
        "    help: every row of one location must give it the same value; or give level "
        "location its own table: --data location=FILE\n"
        '  column "location_name": location "L2" is "South General" in row 4 but "Southern" in '
        "row 6\n"
        "    help: every row of one location must give it the same value; or give level "
        "location its own table: --data location=FILE\n"
        '  column "site": location "L2" is "hospital" in row 4 but empty in row 6\n'
        "    help: every row of one location must give it the same value; or give level "
        "location its own table: --data location=FILE"
    )
    deficit = error.problems[0]
    assert (deficit.row, deficit.column, deficit.value) == (None, "deficit", "false")


def test_an_unreadable_cell_is_reported_once_not_also_as_a_conflict(tmp_path):
    content = (
        "trust_code,trust_name,deficit,income,location_id,location_name,beds,site,service_id,safe,staff\n"
        "R1,North,true,10,L1,North General,400,hospital,S1,good,10\n"
        "R1,North,maybe,10%,L1,North General,400,hospital,S2,good,12\n"
    )
    error = error_of(lambda: prepare_inputs(M, table(tmp_path, "long.csv", content)))
    assert [(p.code, p.column) for p in error.problems] == [
        ("not-a-boolean", "deficit"),
        ("inconsistent-member", "income"),  # 10 and 10% (0.1) differ
    ]


def test_empty_and_spaced_keys_of_a_derived_level(tmp_path):
    content = (
        "trust_code,trust_name,deficit,income,location_id,location_name,beds,site,service_id,safe,staff\n"
        ",North,true,10,L1,North General,400,hospital,S1,good,10\n"
        "R1 ,North,true,10,L2,North General,400,hospital,S2,good,12\n"
        "R1 ,North,true,10,L2,North General,400,hospital,S3,good,12\n"
    )
    error = error_of(lambda: prepare_inputs(M, table(tmp_path, "long.csv", content)))
    assert [(p.code, p.row, p.column, p.message) for p in error.problems] == [
        ("missing-key", None, "trust_code", "the key is empty in row 2"),
        ("key-whitespace", 3, "trust_code", 'key "R1 " has spaces around it'),
    ]


def test_unknown_parent_key(tmp_path):
    trusts = table(tmp_path, "trusts.csv", TRUSTS)
    locations = table(
        tmp_path,
        "locations.csv",
        "location_id,location_name,trust_code,beds,site\n"
        "L1,North General,R1,400,hospital\n"
        "L2,South General,R22,350,hospital\n"
        "L3,North Clinic, R1,0,clinic\n"
        "L4,Elsewhere,QQQQQQ,0,clinic\n"
        "L5,Nowhere,,0,clinic\n",
    )
    services = table(tmp_path, "services.csv", SERVICES)
    error = error_of(
        lambda: prepare_inputs(M, trusts, {"location": locations, "service": services})
    )
    assert error.source == locations.path
    assert render_data_error(error) == (
        f"{locations.path}: 4 problems in the data:\n"
        '  column "trust_code": the key of the parent level trust is empty in row 6\n'
        f'  row 3, column "trust_code": "R22" is not a trust in {trusts.path}\n'
        '    help: did you mean "R2"?\n'
        f'  row 4, column "trust_code": " R1" is not a trust in {trusts.path}\n'
        '    help: remove the spaces around it: "R1"\n'
        f'  row 5, column "trust_code": "QQQQQQ" is not a trust in {trusts.path}'
    )
    assert [p.code for p in error.problems] == ["missing-key"] + ["unknown-parent"] * 3
    assert error.problems[1].value == "R22"


def test_missing_parent_key_column(tmp_path):
    trusts = table(tmp_path, "trusts.csv", TRUSTS)
    locations = table(tmp_path, "locations.csv", LOCATIONS.replace("trust_code", "trust"))
    services = table(tmp_path, "services.csv", SERVICES)
    error = error_of(
        lambda: prepare_inputs(M, trusts, {"location": locations, "service": services})
    )
    assert [(p.column, p.message, p.hint, p.source) for p in error.problems] == [
        (
            "trust_code",
            "not found in the data (needed as the key of the parent level trust)",
            'did you mean "trust"?',
            locations.path,
        )
    ]


def test_missing_columns_of_derived_levels_name_their_level(tmp_path):
    services = table(tmp_path, "services.csv", "service_id,location_id,safe,staff\nS1,L1,good,1\n")
    error = error_of(lambda: prepare_inputs(M, services))
    assert [(p.column, p.message) for p in error.problems] == [
        ("trust_code", "not found in the data (needed as the key of level trust)"),
        ("trust_name", "not found in the data (needed as the label of level trust)"),
        ("deficit", "not found in the data (needed by input deficit)"),
        ("income", "not found in the data (needed by input income)"),
        ("location_name", "not found in the data (needed as the label of level location)"),
        ("beds", "not found in the data (needed by input beds)"),
        ("site", "not found in the data (needed by input site)"),
    ]


def test_a_level_no_table_gives(tmp_path):
    # the unnamed table holds the trusts' and locations' keys: it is the locations' table;
    # nothing gives the services
    content = (
        "trust_code,trust_name,deficit,income,location_id,location_name,beds,site\n"
        "R1,North,true,10,L1,North General,400,hospital\n"
    )
    locations = table(tmp_path, "locations.csv", content)
    error = error_of(lambda: prepare_inputs(M, locations))
    assert render_data_error(error) == (
        f"{locations.path}: no data for the entities of level service\n"
        '  help: give their table with --data service=FILE, with the columns "service_id", '
        '"location_id", "safe", "staff"'
    )
    assert error.problems[0].code == "no-level-data"
    assert error.problems[0].source is None


def test_a_table_named_for_an_unknown_level(tmp_path):
    long = table(tmp_path, "long.csv", LONG)
    services = table(tmp_path, "services.csv", SERVICES)
    error = error_of(lambda: prepare_inputs(M, long, {"servise": services}))
    assert render_data_error(error) == (
        f'{services.path}: the table is named for level "servise", but the methodology has no '
        "such level\n"
        "  help: did you mean service? The levels are trust, location, service"
    )
    assert error.problems[0].code == "unknown-level"


def test_an_unnamed_table_when_every_level_has_one(tmp_path):
    tables = {
        "trust": table(tmp_path, "trusts.csv", TRUSTS),
        "location": table(tmp_path, "locations.csv", LOCATIONS),
        "service": table(tmp_path, "services.csv", SERVICES),
    }
    extra = table(tmp_path, "extra.csv", LONG)
    error = error_of(lambda: prepare_inputs(M, extra, tables))
    assert [(p.code, p.source) for p in error.problems] == [("table-not-used", extra.path)]


def test_the_unnamed_table_with_no_key_reports_the_top_key_missing(tmp_path):
    other = table(tmp_path, "other.csv", "code,trust_name,deficit,income\nR1,North,true,1\n")
    locations = table(tmp_path, "locations.csv", LOCATIONS)
    services = table(tmp_path, "services.csv", SERVICES)
    error = error_of(
        lambda: prepare_inputs(M, other, {"location": locations, "service": services})
    )
    assert [(p.column, p.message, p.source) for p in error.problems] == [
        ("trust_code", "not found in the data (needed as the key)", other.path)
    ]


def test_problems_from_two_files_in_one_error(tmp_path):
    trusts = table(
        tmp_path,
        "trusts.csv",
        "trust_code,trust_name,deficit,income\nR1,North,maybe,10\nR1,Again,no,1\n",
    )
    locations = table(tmp_path, "locations.csv", LOCATIONS.replace("350", "lots"))
    services = table(tmp_path, "services.csv", SERVICES.replace("S4,L3", "S4,L9"))
    tables = {"service": services, "location": locations}
    error = error_of(lambda: prepare_inputs(M, trusts, tables))
    combined = f"{trusts.path}; location={locations.path}; service={services.path}"
    assert error.source == combined
    assert [p.source for p in error.problems] == [trusts.path] * 2 + [locations.path] * 2 + [
        services.path
    ]
    assert render_data_error(error) == (
        f"{combined}: 5 problems in the data:\n"
        f'  {trusts.path}, column "trust_code": key "R1" appears in rows 2 and 3\n'
        f'  {trusts.path}, row 2, column "deficit": "maybe" is not a boolean\n'
        "    help: write true or false (yes/no, y/n and 1/0 are also accepted)\n"
        f'  {locations.path}, row 3, column "beds": "lots" is not a number\n'
        # R2 is not a trust: trusts.csv has R1 twice
        f'  {locations.path}, row 3, column "trust_code": "R2" is not a trust in {trusts.path}\n'
        f'  {services.path}, row 5, column "location_id": "L9" is not a location in '
        f"{locations.path}"
    )


def test_a_problem_without_a_file_among_others(tmp_path):
    trusts = table(tmp_path, "trusts.csv", "trust_code,trust_name,deficit,income\nR1,N,maybe,1\n")
    error = error_of(lambda: prepare_inputs(M, trusts))
    assert error.source == trusts.path  # only the unnamed table was given
    assert render_data_error(error).splitlines() == [
        f"{trusts.path}: 3 problems in the data:",
        "  no data for the entities of level location",
        '    help: give their table with --data location=FILE, with the columns "location_id", '
        '"trust_code", "location_name", "beds", "site"',
        "  no data for the entities of level service",
        '    help: give their table with --data service=FILE, with the columns "service_id", '
        '"location_id", "safe", "staff"',
        # the error's source is the one table given: its problems are not prefixed with it
        '  row 2, column "deficit": "maybe" is not a boolean',
        "    help: write true or false (yes/no, y/n and 1/0 are also accepted)",
    ]


def test_many_unknown_parents_are_summarised_per_file(tmp_path):
    trusts = table(tmp_path, "trusts.csv", TRUSTS)
    rows = "".join(f"L{i},Name,X{i},1,clinic\n" for i in range(25))
    locations = table(tmp_path, "locations.csv", "location_id,location_name,trust_code,beds,site\n" + rows)
    services = table(tmp_path, "services.csv", "service_id,location_id,safe,staff\nS1,L1,good,1\n")
    error = error_of(
        lambda: prepare_inputs(M, trusts, {"location": locations, "service": services})
    )
    assert len(error.problems) == 25
    assert render_data_error(error).splitlines()[-1] == (
        '  ... and 5 more unknown parent keys in "trust_code"'
    )


# ---------------------------------------------------------------- combined datasets


def test_combined_dataset_hash_is_stable_and_independent_of_dict_order(tmp_path):
    top = table(tmp_path, "top.csv", TRUSTS)
    locations = table(tmp_path, "locations.csv", LOCATIONS)
    services = table(tmp_path, "services.csv", SERVICES)
    one = combine_datasets(top, {"location": locations, "service": services})
    two = combine_datasets(top, {"service": services, "location": locations})
    assert one.sha256 == two.sha256
    assert one.path == two.path == f"{top.path}; location={locations.path}; service={services.path}"
    expected = hashlib.sha256(
        f"={top.sha256}\nlocation={locations.sha256}\nservice={services.sha256}\n".encode()
    ).hexdigest()
    assert one.sha256 == expected
    # the level a table is named for counts
    swapped = combine_datasets(top, {"location": services, "service": locations})
    assert swapped.sha256 != one.sha256
    assert one.format == "tables"
    assert one.rows == 10
    assert one.columns[:4] == ("trust_code", "trust_name", "deficit", "income")
    assert len(one.columns) == len(set(one.columns))
    assert "service_id" in one.columns
    assert len(one.frame) == 0 and list(one.frame.columns) == list(one.columns)
    assert one.parts == ((None, top), ("location", locations), ("service", services))
    # one table is that table, named or not
    assert combine_datasets(top, {}) is top
    assert combine_datasets(None, {"service": services}) is services
    with pytest.raises(ValueError):
        combine_datasets(None, {})


# ---------------------------------------------------------------- one level


def test_single_level_unchanged_and_named_tables_refused(tmp_path):
    m = dsl.check_source(SOURCE, "levels.tier")
    assert not m.is_multilevel
    data = table(
        tmp_path,
        "data.csv",
        "trust_code,trust_name,deficit,income,beds,site,safe,staff\nR1,North,yes,1,2,x,good,3\n",
    )
    prepared = prepare_inputs(m, data)
    assert prepared.members == {}
    assert prepared.dataset is data
    assert prepared.frame.index.tolist() == ["R1"]
    assert prepared.frame["safe"].tolist() == ["good"]

    other = table(tmp_path, "other.csv", SERVICES)
    error = error_of(lambda: prepare_inputs(m, data, {"trust": other}))
    assert render_data_error(error) == (
        f"{data.path}; trust={other.path}: this methodology rates one level of entities "
        "(trust); name tables only for a methodology with several levels\n"
        "  help: give the table without a level name: --data FILE"
    )
    assert error.problems[0].code == "not-multilevel"


def test_nothing_given_is_a_programming_error():
    with pytest.raises(ValueError):
        prepare_inputs(M, None)


def test_a_problem_names_its_own_file_else_the_error_source():
    assert DataProblem("x").to_json()["file"] is None
    assert DataProblem("x").to_json("b.csv")["file"] == "b.csv"
    assert DataProblem("x", source="a.csv").to_json("b.csv")["file"] == "a.csv"
