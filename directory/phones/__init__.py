"""Numbers onto phones and calendars: vCard and CSV exports, QR codes,
iCalendar feeds, and imports of vCard and CSV files.
"""
