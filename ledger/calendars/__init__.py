"""Office work calendars: the bundled Sumbar calendar and the loader for calendar files."""

from ledger.calendars.loader import BUNDLED, default_calendar, load_calendar, load_calendar_data

__all__ = ["BUNDLED", "default_calendar", "load_calendar", "load_calendar_data"]
