"""Values that quality rules compare against at run time (GX suite parameters)."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from orchestration.settings import TIMEZONE

AS_OF_ENV = "CUSTOMS_AS_OF_DATE"
MAX_LODGEMENT_LAG_DAYS = 3  # the clearance system delivers each day's items within three days
# a lodgement after the as-of date is a clock or keying error; one day absorbs time zones and midnight
MAX_LODGEMENT_LEAD_DAYS = 1


def as_of_date() -> date:
    """The date the warehouse is meant to be current to: $CUSTOMS_AS_OF_DATE, else today in Muscat."""
    value = os.environ.get(AS_OF_ENV)
    return date.fromisoformat(value) if value else datetime.now(ZoneInfo(TIMEZONE)).date()


def suite_parameters() -> dict:
    """The window the latest lodgement must fall in: neither stale nor in the future."""
    as_of = as_of_date()
    return {
        "min_lodged_date": (as_of - timedelta(days=MAX_LODGEMENT_LAG_DAYS)).isoformat(),
        "max_lodged_date": (as_of + timedelta(days=MAX_LODGEMENT_LEAD_DAYS)).isoformat(),
    }
