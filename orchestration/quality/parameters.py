"""Values that quality rules compare against at run time (GX suite parameters)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from orchestration.settings import TIMEZONE

AS_OF_ENV = "CUSTOMS_AS_OF_DATE"
AS_OF_TAG = "customs/as_of_date"  # a run's own as-of date, e.g. the demo's end (orchestration.cli)
MAX_LODGEMENT_LAG_DAYS = 3  # the clearance system delivers each day's items within three days
# a lodgement after the as-of date is a clock or keying error; one day absorbs time zones and midnight
MAX_LODGEMENT_LEAD_DAYS = 1


def as_of_date(run_tags: Mapping[str, str] | None = None) -> date:
    """The date the warehouse is meant to be current to: the run's `customs/as_of_date` tag, else
    $CUSTOMS_AS_OF_DATE, else today in Muscat."""
    value = (run_tags or {}).get(AS_OF_TAG) or os.environ.get(AS_OF_ENV)
    return date.fromisoformat(value) if value else datetime.now(ZoneInfo(TIMEZONE)).date()


def suite_parameters(as_of: date | None = None) -> dict:
    """The window the latest lodgement must fall in: neither stale nor in the future."""
    as_of = as_of or as_of_date()
    return {
        "min_lodged_date": (as_of - timedelta(days=MAX_LODGEMENT_LAG_DAYS)).isoformat(),
        "max_lodged_date": (as_of + timedelta(days=MAX_LODGEMENT_LEAD_DAYS)).isoformat(),
    }
