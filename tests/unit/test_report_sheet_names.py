"""The report workbook's sheet names: what Excel accepts, one sheet per entry type."""

from webapp.reports.workbook import part_name, sheet_name


def test_names_are_excel_safe_and_distinct():
    assert sheet_name("plane") == "Plane"
    assert sheet_name("bus_trip") == "Bus trip"
    assert sheet_name("a/b:c*d?[e]\\f") == "A b c d  e  f"
    assert sheet_name("'quoted") == "Quoted"
    assert sheet_name("") == "Entries"
    assert sheet_name("Plane", {"Totals", "About", "Plane"}) == "Plane #2"
    assert sheet_name("about", {"Totals", "About"}) == "About #2"
    long = sheet_name("x" * 40, {"X" + "x" * 26})
    assert long == "X" + "x" * 23 + " #2" and len(long) == 27


def test_parts_fit_in_31_characters():
    assert part_name("Plane", 1) == "Plane"
    assert part_name("Plane", 2) == "Plane (2)"
    assert len(part_name("X" * 27, 12)) == 31
    assert part_name("X" * 27, 12).endswith("X (12)")
