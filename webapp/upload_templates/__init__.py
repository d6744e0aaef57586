"""Upload templates people download (SPEC §15): for each kind of file the product takes
(a module's entries of one type, the same for every unit at once, a factor type's
factors, the unit tree), a CSV and an .xlsx workbook with the header row and one example
row, the workbook also with dropdowns for closed lists and a sheet explaining every
column. What a column is, its example and its allowed values are declared once, on the
column and its parser (csv_upload/columns.py, parsers.py); this package only lays them
out."""
