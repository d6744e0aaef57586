"""Writes the CSV test corpus and its manifest.json, byte for byte.

Run `python tests/data/csv/make_corpus.py` after changing a case; the generated files
are kept in the repository so they can be uploaded by hand and reviewed as bytes.
tests/unit/test_corpus.py checks that the files on disk match this script.

Every expectation here is written by hand, not computed by the code under test.
Manifest fields:
    file, target ("data_entries" | "factors"), module_type,
    entry_type (data entries: the type the rows load as, null when the file is refused
    before a type is chosen) or factor_type (factors),
    config_entry_type (data entries: the `config.entry_type` sent with the upload, or null),
    on_error ("abort" | "skip"),
    expect: status, status_code, inserted (rows that load), errors_total (row errors),
            error_rows (sorted, unique), error_columns (sorted, unique),
            message_contains (a substring of the job message, or null; for 422 the
            first row error as the message states it: "Row N: column 'value' reason").
Status codes: 400 unreadable file or wrong columns, 422 invalid rows with abort,
207 completed with skipped rows, 200 every row loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def text_file(lines: list[str], eol: str = "\n", encoding: str = "utf-8") -> bytes:
    """Lines joined by `eol`, with a final `eol`, encoded."""
    return "".join(line + eol for line in lines).encode(encoding)


def ok(inserted: int) -> dict[str, Any]:
    return {"status": "completed", "status_code": 200, "inserted": inserted, "errors_total": 0,
            "error_rows": [], "error_columns": [], "message_contains": None}


def refused(message: str) -> dict[str, Any]:
    return {"status": "failed", "status_code": 400, "inserted": 0, "errors_total": 0,
            "error_rows": [], "error_columns": [], "message_contains": message}


def aborted(errors: int, rows: list[int], columns: list[str], first: str) -> dict[str, Any]:
    # The job message names the first error as "Row N: column 'value' reason".
    return {"status": "failed", "status_code": 422, "inserted": 0, "errors_total": errors,
            "error_rows": rows, "error_columns": columns, "message_contains": first}


def skipped(inserted: int, errors: int, rows: list[int], columns: list[str]) -> dict[str, Any]:
    return {"status": "completed", "status_code": 207, "inserted": inserted,
            "errors_total": errors, "error_rows": rows, "error_columns": columns,
            "message_contains": None}


FILES: dict[str, bytes] = {}
MANIFEST: list[dict[str, Any]] = []


def entries(file: str, module_type: str, entry_type: str | None, expect: dict[str, Any], *,
            on_error: str = "abort", config_entry_type: str | None = None) -> None:
    MANIFEST.append({"file": file, "target": "data_entries", "module_type": module_type,
                     "entry_type": entry_type, "config_entry_type": config_entry_type,
                     "on_error": on_error, "expect": expect})


def factors(file: str, module_type: str, factor_type: str, expect: dict[str, Any], *,
            on_error: str = "abort") -> None:
    MANIFEST.append({"file": file, "target": "factors", "module_type": module_type,
                     "factor_type": factor_type, "on_error": on_error, "expect": expect})


HEADCOUNT = "name,position_category,user_institutional_id,fte"

# -- headcount ------------------------------------------------------------------------

FILES["headcount_utf8_comma.csv"] = text_file([
    "name,position_category,user_institutional_id,fte,note,unit_institutional_id",
    "Zoë Müller,professor,100001,1,Head of lab,UNIT-1",
    "Jean Dupont,phd_student,100002,0.8,,UNIT-1",
    'Åsa Öberg,postdoc,100003,0.5,"Part-time, shared with ENAC",UNIT-2',
])
entries("headcount_utf8_comma.csv", "headcount", "member", ok(3))

# Excel "CSV UTF-8": BOM, CRLF; header typed by hand.
FILES["headcount_utf8_bom_crlf_messy_header.csv"] = text_file([
    "Name, Position Category ,User-Institutional-ID,FTE,  Note",
    "Chloé Rey,professor,100011,1,",
    "Lukas Brändli,technician,100012,0.6,Mornings only",
], eol="\r\n", encoding="utf-8-sig")
entries("headcount_utf8_bom_crlf_messy_header.csv", "headcount", "member", ok(2))

# Excel "CSV (semicolon)" in a French locale: Windows-1252, decimal comma.
FILES["headcount_cp1252_semicolon.csv"] = text_file([
    "name;position_category;user_institutional_id;fte;note",
    "Hélène Favre;professeure;200001;0,5;Budget 1200 €",
    "Jürgen Weiß;technician;200002;1;Zürich",
    "François Noël;assistant;200003;0,25;",
], eol="\r\n", encoding="cp1252")
entries("headcount_cp1252_semicolon.csv", "headcount", "member", ok(3))

FILES["headcount_invalid_values.csv"] = text_file([
    HEADCOUNT,
    "Ada Lovelace,professor,300001,1",
    "Alan Turing,postdoc,300002,1.2",  # 3: fte must be between 0 and 1
    "Grace Hopper,phd_student,300003,-0.1",  # 4: fte
    "Edsger Dijkstra,postdoc,300004,half",  # 5: fte is not a number
    "Barbara Liskov,professor,300005,0.5",
    "A" * 300 + ",professor,300006,1",  # 7: name is longer than 255 characters
])
entries("headcount_invalid_values.csv", "headcount", "member",
        aborted(4, [3, 4, 5, 7], ["fte", "name"], "Row 3: fte '1.2' must be between 0 and 1"))
entries("headcount_invalid_values.csv", "headcount", "member",
        skipped(2, 4, [3, 4, 5, 7], ["fte", "name"]), on_error="skip")

FILES["headcount_missing_columns.csv"] = text_file([
    "name,user_institutional_id,note",
    "Ada Lovelace,300001,",
])
entries("headcount_missing_columns.csv", "headcount", None,
        refused("missing required columns for member entries: position_category, fte"))

# Extra columns, blank rows (still counted, as a spreadsheet shows them), a row with
# surplus fields and a short row whose missing fte is reported.
FILES["headcount_extra_columns_blank_rows.csv"] = text_file([
    "Name,Office,position_category,user_institutional_id,FTE,Phone",
    "Marie Curie,BM 1.1,professor,400001,1,+41 21 000",
    "",
    "Pierre Curie,BM 1.2,professor,400002,0.9,+41 21 001,surplus,fields",
    "Irène Joliot,BM 1.3,postdoc,400003",  # 5: fte is required
    ",,,,,",
    "Paul Langevin,BM 1.4,professor,400004,0.6,",
    ",,,,,",
])
entries("headcount_extra_columns_blank_rows.csv", "headcount", "member",
        skipped(3, 1, [5], ["fte"]), on_error="skip")

# -- travel: planes -------------------------------------------------------------------

FILES["travel_plane_messy_header.csv"] = text_file([
    " Origin IATA ,Destination-IATA,USER_INSTITUTIONAL_ID,Departure Date,Number of Trips,"
    "Cabin Class,Note,kg_co2eq,Unit Institutional ID,Booking Reference",
    "gva,lhr,100001,2025-01-15,1,ECO,,182.5,UNIT-1,ABC123",
    "ZRH,JFK,100002,2025-02-03,2,Business Class,Conference,2950,UNIT-1,ABC124",
    "GVA,CDG,100003,2025-03-10,,premium economy,,,UNIT-2,",
    "BSL,AMS,100004,,1,PREM,,,,",
    "GVA,NRT,100005,2025-05-20,1,1st,Keynote,,UNIT-2,",
    "GVA,MAD,100006,2025-06-01,1,Economy Class,,,UNIT-2,",
])
entries("travel_plane_messy_header.csv", "travel", "plane", ok(6))

# Tab-separated; notes hold unquoted commas and semicolons, which must not split them.
FILES["travel_plane_tab.csv"] = text_file([
    "origin_iata\tdestination_iata\tuser_institutional_id\tcabin_class\tnote",
    "GVA\tLHR\t100021\teconomy\tvisit, then talk",
    "GVA\tFCO\t100022\tbusiness\tjury; two days",
    "ZRH\tVIE\t100023\tfirst\t",
], eol="\r\n")
entries("travel_plane_tab.csv", "travel", "plane", ok(3))

# Quoted fields with commas, doubled quotes and line breaks: each record is one row,
# so the bad destination after two multi-line notes is still row 4.
FILES["travel_plane_quoted_multiline.csv"] = text_file([
    "origin_iata,destination_iata,user_institutional_id,departure_date,cabin_class,note",
    'GVA,LHR,100031,2025-01-15,economy,"Meeting, then ""workshop"""',
    'GVA,BER,100032,2025-02-15,economy,"Line one\r\nline two\r\nline three"',
    'GVA,XX1,100033,2025-03-15,economy,"bad destination, note has; semicolon"',  # 4
    'ZRH,LIS,100034,2025-04-15,business,"Two\r\nlines"',
    "ZRH,OPO,100035,2025-04-16,business,plain",
], eol="\r\n")
entries("travel_plane_quoted_multiline.csv", "travel", "plane",
        skipped(4, 1, [4], ["destination_iata"]), on_error="skip")

FILES["travel_plane_invalid_values.csv"] = text_file([
    "origin_iata,destination_iata,user_institutional_id,departure_date,number_of_trips,"
    "cabin_class,kg_co2eq",
    "GVA,LHR,500001,2025-01-10,1,economy,100",
    "GENEVA,LHR,500002,2025-01-11,1,economy,",  # 3: origin_iata
    "GVA,LHR,500003,2025-13-45,1,economy,",  # 4: departure_date
    "GVA,LHR,500004,15/01/2025,1,economy,",  # 5: departure_date
    "GVA,LHR,500005,2025-01-12,0,economy,",  # 6: number_of_trips must be at least 1
    "GVA,LHR,500006,2025-01-12,two,economy,",  # 7: number_of_trips not a whole number
    "GVA,LHR,500007,2025-01-12,1,cattle,",  # 8: cabin_class
    "GVA,LHR,500008,2025-01-12,1,economy,-5",  # 9: kg_co2eq must not be negative
    "GVA,LHR,,2025-01-12,1,economy,",  # 10: user_institutional_id is required
    "G1A,,500009,2025-01-12,1.5,,abc",  # 11: five errors in one row
    "ZRH,CDG,500010,2025-02-29,1,first,",  # 12: not a leap year
    "ZRH,CDG,500011,2024-02-29,1,first,12.5",
])
PLANE_ERROR_ROWS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
PLANE_ERROR_COLUMNS = ["cabin_class", "departure_date", "destination_iata", "kg_co2eq",
                       "number_of_trips", "origin_iata", "user_institutional_id"]
entries("travel_plane_invalid_values.csv", "travel", "plane",
        aborted(14, PLANE_ERROR_ROWS, PLANE_ERROR_COLUMNS,
                "Row 3: origin_iata 'GENEVA' is not an IATA airport code "
                "(expected 3 letters, e.g. GVA)"))
entries("travel_plane_invalid_values.csv", "travel", "plane",
        skipped(2, 14, PLANE_ERROR_ROWS, PLANE_ERROR_COLUMNS), on_error="skip")

FILES["travel_plane_missing_cabin_class.csv"] = text_file([
    "origin_iata,destination_iata,user_institutional_id,departure_date",
    "GVA,LHR,100041,2025-01-15",
])
entries("travel_plane_missing_cabin_class.csv", "travel", None,
        refused("plane entries need cabin_class"))
entries("travel_plane_missing_cabin_class.csv", "travel", None,
        refused("missing required columns for plane entries: cabin_class"),
        config_entry_type="plane")

FILES["travel_header_only.csv"] = text_file([
    "origin_iata,destination_iata,user_institutional_id,departure_date,number_of_trips,"
    "cabin_class,note,kg_co2eq",
], eol="\r\n")
entries("travel_header_only.csv", "travel", None,
        refused("The file has a header but no data rows"))

# -- travel: trains -------------------------------------------------------------------

FILES["travel_train_semicolon.csv"] = text_file([
    "origin_name;origin_country_code;destination_name;destination_country_code;"
    "user_institutional_id;departure_date;number_of_trips;cabin_class;note;kg_co2eq",
    "Lausanne;CH;Genève;ch;600001;2025-01-20;2;2;;1,2",
    "Zürich HB;CH;München Hbf;DE;600002;2025-02-11;1;1st;Workshop;12,5",
    "Genève;CH;Paris Gare de Lyon;FR;600003;2025-03-05;1;First Class;;",
    "Bern;CH;Milano Centrale;it;600004;;1;Second;;",
    'Basel SBB;CH;Bruxelles-Midi;BE;600005;2025-05-14;;2e classe;"Night train; via Köln";',
])
entries("travel_train_semicolon.csv", "travel", "train", ok(5))
entries("travel_train_semicolon.csv", "travel", "train", ok(5), config_entry_type="train")

FILES["travel_train_invalid_values.csv"] = text_file([
    "origin_name,origin_country_code,destination_name,destination_country_code,"
    "user_institutional_id,cabin_class",
    "Lausanne,CH,Bern,CH,700001,second",
    "Lausanne,Switzerland,Bern,CH,700002,second",  # 3: origin_country_code
    "Lausanne,CH,Bern,XX,700003,second",  # 4: destination_country_code (not ISO 3166)
    "Lausanne,CH,Bern,CH,700004,3",  # 5: cabin_class
    ",CH,Bern,CH,700005,economy",  # 6: origin_name required; economy is no train class
])
entries("travel_train_invalid_values.csv", "travel", "train",
        aborted(5, [3, 4, 5, 6], ["cabin_class", "destination_country_code",
                                  "origin_country_code", "origin_name"],
                "Row 3: origin_country_code 'Switzerland' is not an ISO 3166 country code "
                "(expected 2 letters, e.g. CH)"))

FILES["travel_plane_and_train_columns.csv"] = text_file([
    "origin_iata,destination_iata,origin_name,origin_country_code,destination_name,"
    "destination_country_code,user_institutional_id,cabin_class",
    "GVA,LHR,Genève,CH,London,GB,100051,economy",
])
entries("travel_plane_and_train_columns.csv", "travel", None,
        refused("choose the entry type when uploading it"))

# -- equipment ------------------------------------------------------------------------

FILES["equipment_crlf.csv"] = text_file([
    "equipment_id,name,equipment_class,sub_class,active_usage_hours_per_week,"
    "standby_usage_hours_per_week,note,unit_institutional_id",
    "EQ-001,Dell Latitude 7440,laptop,14 inch,40,128,,UNIT-1",  # exactly 168: allowed
    "EQ-002,Freezer -80°C,freezer,ultra-low,168,0,Always on,UNIT-1",
    "EQ-003,HP LaserJet,printer,,10,,,UNIT-2",
    'EQ-004,Oscilloscope,lab_instrument,,,,"Rarely used, stored",UNIT-2',
], eol="\r\n")
entries("equipment_crlf.csv", "equipment", "equipment", ok(4))

FILES["equipment_invalid_hours.csv"] = text_file([
    "equipment_id,name,equipment_class,active_usage_hours_per_week,"
    "standby_usage_hours_per_week",
    "EQ-101,Workstation,desktop,100,80",  # 2: 180 hours in a 168-hour week
    "EQ-102,Server,server,170,0",  # 3: active must be between 0 and 168
    "EQ-103,Monitor,screen,-1,10",  # 4: active must be between 0 and 168
    "EQ-104,Projector,projector,abc,12",  # 5: not a number
    "EQ-105,Laptop,laptop,40,60",
    ",Tablet,,40,60",  # 7: equipment_id and equipment_class required
])
EQUIPMENT_ERROR_COLUMNS = ["active_usage_hours_per_week",
                           "active_usage_hours_per_week + standby_usage_hours_per_week",
                           "equipment_class", "equipment_id"]
entries("equipment_invalid_hours.csv", "equipment", "equipment",
        aborted(6, [2, 3, 4, 5, 7], EQUIPMENT_ERROR_COLUMNS,
                "Row 2: active_usage_hours_per_week + standby_usage_hours_per_week "
                "'100 + 80' must add up to at most 168 hours a week"))
entries("equipment_invalid_hours.csv", "equipment", "equipment",
        skipped(1, 6, [2, 3, 4, 5, 7], EQUIPMENT_ERROR_COLUMNS), on_error="skip")

# -- purchases ------------------------------------------------------------------------

FILES["purchases_cp1252_crlf.csv"] = text_file([
    "name,supplier,quantity,total_spent_amount,currency,purchase_institutional_code,"
    "purchase_institutional_description,note",
    "Pipettes,Söhne AG,10,250.50,chf,P-1001,Matériel de laboratoire,",
    'Café capsules,Nespresso,200,84,CHF,P-2002,Cafétéria,"Prix en €, converti"',
    "Réactifs,Merck,,1200,eur,P-1003,Produits chimiques,",
    "Serveur,Dell,1,4500.00,,P-3001,Informatique,",
], eol="\r\n", encoding="cp1252")
entries("purchases_cp1252_crlf.csv", "purchases", "purchase", ok(4))

FILES["purchases_invalid_values.csv"] = text_file([
    "name,supplier,quantity,total_spent_amount,currency,purchase_institutional_code",
    "Paper,Office World,5,20.00,CHF,P-1",
    "Toner,Office World,2,,CHF,P-2",  # 3: total_spent_amount required
    "Chairs,IKEA,four,300,CHF,P-3",  # 4: quantity not a number
    "Desk,IKEA,1,450,EURO,P-4",  # 5: currency
    "Lamp,IKEA,1,-30,CHF,P-5",  # 6: total_spent_amount must not be negative
    ",IKEA,1,30,CHF,",  # 7: name and purchase_institutional_code required
    'Shelf,IKEA,1,"1,234",CHF,P-6',  # 8: 1.234 or 1234? refused as ambiguous
])
entries("purchases_invalid_values.csv", "purchases", "purchase",
        aborted(7, [3, 4, 5, 6, 7, 8], ["currency", "name", "purchase_institutional_code",
                                        "quantity", "total_spent_amount"],
                "Row 3: total_spent_amount is required"))

# Excel "Unicode text": UTF-16 little-endian with BOM, tab-separated.
FILES["purchases_utf16_tab.csv"] = text_file([
    "name\tsupplier\ttotal_spent_amount\tcurrency\tpurchase_institutional_code",
    "Étagère\tIKEA\t129.90\tCHF\tP-7001",
    "Microscope\tZeiss\t15000\tEUR\tP-7002",
], eol="\r\n", encoding="utf-16")
entries("purchases_utf16_tab.csv", "purchases", "purchase", ok(2))

# -- files that are not CSV, or not usable --------------------------------------------

FILES["empty.csv"] = b""
entries("empty.csv", "headcount", None, refused("The file is empty (0 bytes)"))

FILES["whitespace_only.csv"] = b"  \r\n\r\n\t \n   "
entries("whitespace_only.csv", "headcount", None, refused("only blank lines"))

# Rows of empty or blank cells, as spreadsheets leave below the data, are not data.
FILES["header_then_blank_rows.csv"] = text_file([HEADCOUNT, ",,,", "", "  ,  ,,"],
                                                eol="\r\n")
entries("header_then_blank_rows.csv", "headcount", None,
        refused("The file has a header but no data rows"))

# The first bytes of a real PNG: signature, then the IHDR chunk of a 1x1 image.
FILES["image_png.csv"] = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00"
                          b"\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
entries("image_png.csv", "headcount", None, refused("is a PNG image"))

# A zip local file header, as every .xlsx starts, and nothing after it: whatever its
# name, it is read as a workbook (by its content), and refused as a truncated one.
FILES["workbook_xlsx.csv"] = (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"
                              b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x13\x00"
                              b"\x00\x00[Content_Types].xml")
entries("workbook_xlsx.csv", "headcount", None,
        refused("The workbook could not be read: it is damaged or incomplete"))

FILES["binary_bytes.csv"] = bytes(range(256)) * 4
entries("binary_bytes.csv", "headcount", None, refused("contains binary data"))

FILES["duplicate_columns.csv"] = text_file([
    "name,Name ,position_category,user_institutional_id,fte",
    "Ada Lovelace,Ada,professor,300001,1",
])
entries("duplicate_columns.csv", "headcount", None,
        refused("The header repeats the column name"))

# Row 3 opens a quote that never closes: refused, rather than rows silently merged.
FILES["unclosed_quote.csv"] = text_file([
    HEADCOUNT,
    "Ada Lovelace,professor,300001,1",
    '"Bob Kahn,postdoc,300002,1',
    "Carl Sagan,postdoc,300003,1",
])
entries("unclosed_quote.csv", "headcount", "member", refused("Row 3 could not be read as CSV"))

# -- factors --------------------------------------------------------------------------

FILES["factors_plane.csv"] = text_file([
    "category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance",
    "short_haul,economy,0.151,1.9,0,1500",
    "short_haul,Business Class,0.227,1.9,0,1500",
    "long_haul,ECO,0.102,1.9,1500,20000",
    "long_haul,first,0.408,1.9,1500,",
])
factors("factors_plane.csv", "travel", "plane", ok(4))

FILES["factors_plane_invalid_values.csv"] = text_file([
    "category,cabin_class,ef_kg_co2eq_per_km,min_distance,max_distance",
    "short_haul,economy,0.15,0,1500",
    "short_haul,cattle,0.15,0,1500",  # 3: cabin_class
    "medium_haul,economy,abc,1500,800",  # 4: not a number; band upside down
    "long_haul,economy,,3500,",  # 5: ef_kg_co2eq_per_km required
])
factors("factors_plane_invalid_values.csv", "travel", "plane",
        aborted(4, [3, 4, 5], ["cabin_class", "ef_kg_co2eq_per_km", "max_distance"],
                "Row 3: cabin_class 'cattle' is not a cabin class "
                "(expected economy, premium_economy, business or first)"))

FILES["factors_train_bom_semicolon_decimal_comma.csv"] = text_file([
    "country_code;ef_kg_co2eq_per_km",
    "CH;0,007",
    "fr;0,0035",
    "DE;0,032",
    "IT;0,024",
], encoding="utf-8-sig")
factors("factors_train_bom_semicolon_decimal_comma.csv", "travel", "train", ok(4))

FILES["factors_train_missing_columns.csv"] = text_file([
    "country,ef_kg_co2eq_per_km",
    "CH,0.007",
])
factors("factors_train_missing_columns.csv", "travel", "train",
        refused("missing required columns for train factors: country_code"))

FILES["factors_equipment_tab.csv"] = text_file([
    "equipment_class\tsub_class\tactive_power_w\tstandby_power_w\tef_kg_co2eq_per_kwh",
    "laptop\t14 inch\t45\t2\t0.125",
    "laptop\t16 inch\t65\t3\t0.125",
    "freezer\tultra-low\t1100\t1100\t0.125",
    "printer\t\t300\t5\t0.125",
], eol="\r\n")
factors("factors_equipment_tab.csv", "equipment", "equipment", ok(4))

FILES["factors_purchase_cp1252_semicolon.csv"] = text_file([
    "purchase_institutional_code;currency;ef_kg_co2eq_per_currency;description",
    "P-1001;CHF;0,12;Matériel de laboratoire",
    "P-1001;EUR;0,13;Matériel de laboratoire (€)",
    "P-2002;chf;0,3;Cafétéria",
    "P-3001;€;0,5;Informatique",  # 5: currency
], eol="\r\n", encoding="cp1252")
factors("factors_purchase_cp1252_semicolon.csv", "purchases", "purchase",
        skipped(3, 1, [5], ["currency"]), on_error="skip")

# Classic Mac OS line endings: CR only.
FILES["factors_headcount_cr.csv"] = text_file([
    "headcount_category,headcount_class,unit,ef_kg_co2eq_per_unit",
    "professor,,fte,1200",
    "phd_student,,fte,800",
    "postdoc,lab,fte,950",
    "postdoc,office,fte,700",
], eol="\r")
factors("factors_headcount_cr.csv", "headcount", "headcount", ok(4))

FILES["factors_headcount_invalid_values.csv"] = text_file([
    "headcount_category,ef_kg_co2eq_per_unit",
    "professor,-3",  # 2: must not be negative
    ",800",  # 3: headcount_category required
    "staff,NaN",  # 4: not a number
])
factors("factors_headcount_invalid_values.csv", "headcount", "headcount",
        aborted(3, [2, 3, 4], ["ef_kg_co2eq_per_unit", "headcount_category"],
                "Row 2: ef_kg_co2eq_per_unit '-3' must not be negative"))


def main() -> None:
    for name, content in FILES.items():
        (HERE / name).write_bytes(content)
    manifest = json.dumps(MANIFEST, indent=2, ensure_ascii=False) + "\n"
    (HERE / "manifest.json").write_text(manifest, encoding="utf-8")
    print(f"wrote {len(FILES)} files and {len(MANIFEST)} manifest entries to {HERE}")


if __name__ == "__main__":
    main()
