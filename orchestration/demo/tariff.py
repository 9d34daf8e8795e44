"""The duty, VAT and CIF/FOB margin of each demo item, vectorised, from the built-in reference tables:
the demo charges exactly the rates the warehouse later recomputes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from orchestration import reference

ISO3 = {c.iso2: c.iso3 for c in reference.countries()}


def lookup(values: np.ndarray, mapping: dict) -> np.ndarray:
    return pd.Series(values).map(mapping).to_numpy()


def chapter(hs6: np.ndarray) -> np.ndarray:
    return np.array([h[:2] for h in hs6], dtype=object)


def _longest_prefix_rate(code: str, tax_type: str) -> float:
    lines = [t for t in reference.tariff_lines() if t.tax_type == tax_type and code.startswith(t.hs_prefix)]
    return max((len(t.hs_prefix), t.rate) for t in lines)[1]


def duty_rate_for(hs6: np.ndarray) -> np.ndarray:
    """Import duty of each subheading: the longest matching prefix of the tariff wins."""
    return np.array([_longest_prefix_rate(h, "duty") for h in hs6])


def vat_standard() -> tuple[date, float]:
    """When import VAT starts and its standard rate: the tariff's catch-all VAT line."""
    line = next(t for t in reference.tariff_lines() if t.tax_type == "vat" and not t.hs_prefix)
    return line.valid_from, line.rate


def vat_zero_rated(hs6: np.ndarray) -> np.ndarray:
    return np.array([_longest_prefix_rate(h, "vat") == 0 for h in hs6])


def cif_fob_margin(partner_iso3: np.ndarray, chapter: np.ndarray) -> np.ndarray:
    """Most specific row wins: partner and chapter, then chapter, then partner, then the default."""
    out = np.full(len(partner_iso3), np.nan)
    for m in sorted(reference.cif_fob_margins(), key=lambda m: (bool(m.hs_chapter), bool(m.partner_iso3))):
        hit = np.ones(len(out), dtype=bool)
        if m.partner_iso3:
            hit &= partner_iso3 == m.partner_iso3
        if m.hs_chapter:
            hit &= chapter == m.hs_chapter
        out[hit] = m.margin
    return out
