"""Deterministic demo dataset: declaration items, partner (mirror) statistics and reference tables
written into a landing area exactly as a customs administration would deliver them, with documented
anomalies planted and their ground truth written beside the data.

Everything is vectorised with NumPy so that the same code produces the 200k-item demo in seconds and
the 10M-item benchmark sets in minutes. The same seed and parameters always give byte-identical files.
`declarations` draws the items, `partners` the Comtrade records, `writers` writes the files.

Beyond the planted schemes, `latent` gives a learned model something to find: every import item names
its foreign seller (`seller_id`, of the goods' true origin country; each trader buys from a few, popular
sellers supply many traders), and a few traders, sellers, routes (origin x partner) and HS6 x origin
cells carry a latent irregularity propensity (a multiplier of the base rate of irregular outcomes). Each
is active with inspections in every month and none carries a planted item. Inspections find
irregularities on planted declarations most often, on risky entities far more often than elsewhere.
`_demo_truth/learnable.json` lists them with their multipliers and the realised rates among inspected
declarations on each, on any, off all of them and on planted ones.

`intelligence` (issue 15) adds the delivered `finding_type` and per-trader address / phone hashes, the
demo's IPR register (`reference/ipr_recordations.csv`: five fictional brands with authorised importers,
origins and price floors) and plants on clean declarations: legitimate branded imports, eight
counterfeits (faker spellings, unauthorised importer and origin, under the floor, by air or post, the
first of two routes seized), a fraud ring (new traders sharing a new seller, declarant and one address,
one seizure, a switch of chapter and origin in its last quarter), a phoenix trader (a seizure, then a
successor with the same seller, declarant and phone) and split consignments (one seller's parcels over
12-15 new traders in about 90 days). `_demo_truth/intelligence.json` lists them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from orchestration.demo import intelligence, latent
from orchestration.demo.declarations import DemoConfig, Generator
from orchestration.demo.partners import partner_records
from orchestration.demo.tariff import cif_fob_margin, duty_rate_for
from orchestration.demo.writers import (
    DECLARATION_COLUMNS,
    write_declarations,
    write_partner_records,
    write_reference_tables,
    write_truth_items,
)

__all__ = ["DECLARATION_COLUMNS", "DemoConfig", "cif_fob_margin", "duty_rate_for", "generate", "write_reference_tables"]


DEFAULT_CONFIG = DemoConfig()


def generate(landing: Path, config: DemoConfig = DEFAULT_CONFIG) -> dict:
    """Write the demo dataset into `landing` and return a summary (counts and planted anomalies)."""
    gen = Generator(config)
    items = gen.declarations()
    intel = intelligence.plant(gen, items)
    partner = partner_records(gen, items)
    landing = Path(landing)
    written = {
        "declaration_files": write_declarations(landing / "declarations", items, gen.days),
        "partner_files": write_partner_records(landing / "partner_trade" / "comtrade", partner),
        "reference_files": write_reference_tables(landing / "reference", gen.rates_table(), intel["register"]),
    }
    truth_dir = landing / "_demo_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "config": {**asdict(config), "start": config.start.isoformat()},
        "items": int(len(items["item_no"])),
        "declarations": int(items["decl_count"]),
        "partner_records": len(partner),
        **written,
        "planted": asdict(gen.truth),
        "intelligence": intelligence.summary(intel["truth"]),
    }
    (truth_dir / "anomalies.json").write_text(json.dumps(summary, indent=2, default=str))
    write_truth_items(truth_dir / "truth_items.csv", items)
    learnable = latent.truth(items, gen.latent_keys, gen.risky, gen.trader_ids)
    (truth_dir / "learnable.json").write_text(json.dumps(learnable, indent=2))
    (truth_dir / "intelligence.json").write_text(json.dumps(intel["truth"], indent=2))
    return summary
