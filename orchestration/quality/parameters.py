"""Values that quality rules compare against at run time (GX suite parameters)."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from orchestration.settings import TIMEZONE

AS_OF_ENV = "CUSTOMS_AS_OF_DATE"
MAX_LODGEMENT_LAG_DAYS = 3  # the clearance system delivers each day's items within three days


def as_of_date() -> date:
    """The date the warehouse is meant to be current to: $CUSTOMS_AS_OF_DATE, else today in Muscat."""
    value = os.environ.get(AS_OF_ENV)
    return date.fromisoformat(value) if value else datetime.now(ZoneInfo(TIMEZONE)).date()


def suite_parameters() -> dict:
    return {"min_lodged_date": (as_of_date() - timedelta(days=MAX_LODGEMENT_LAG_DAYS)).isoformat()}
