"""`library "FOLDER"`: `extends` looks for a base not found beside the file in the declared
folder, under the file-access rule (docs/language.md, File access)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dsl import check_file, load
from tierlang.cli import main

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BASE = 'methodology "base"\nentity Trust key trust_code\n\ninput ae: number\nparam w = 50%\nindicator s = ae * w\n'


def test_the_golden_child_takes_its_base_from_the_library():
    m = load(str(ROOT / "tests/golden/valid_checked/library_child.tier"))
    assert m.node("weight").value == 0.75 and m.has("ae_score")
    assert m.sources[1][0].endswith("library/shared_base.tier")


def test_a_base_beside_the_file_comes_first(tmp_path):
    (tmp_path / ".tierlang-root").touch()
    write(tmp_path / "lib/base.tier", BASE)
    write(tmp_path / "mine/base.tier", BASE.replace("50%", "10%"))
    child = write(tmp_path / "mine/child.tier", 'methodology "c"\nextends "base.tier"\nlibrary "../lib"\n')
    assert load(str(child)).node("w").value == 0.1
    (tmp_path / "mine/base.tier").unlink()
    assert load(str(child)).node("w").value == 0.5


def test_a_library_outside_the_root_or_absolute_is_refused(tmp_path):
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    write(tmp_path / "elsewhere/base.tier", BASE)
    for library, code in (("../../elsewhere", "outside-root"), (str(tmp_path / "elsewhere"), "absolute-path")):
        child = write(project / "child.tier", f'methodology "c"\nextends "base.tier"\nlibrary "{library}"\n')
        report = check_file(child)
        assert [d.code for d in report.errors] == [code], library
        assert report.errors[0].span.line == 3  # the library line


def test_a_base_reached_through_the_library_must_stay_inside_the_root(tmp_path):
    project = tmp_path / "project"
    write(project / ".tierlang-root", "")
    write(tmp_path / "base.tier", BASE)
    (project / "lib").mkdir()
    child = write(project / "child.tier", 'methodology "c"\nextends "../../base.tier"\nlibrary "lib"\n')
    result = CliRunner().invoke(main, ["check", str(child)])
    assert result.exit_code != 0 and "outside the methodology's root folder" in result.output
