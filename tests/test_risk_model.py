"""The learned risk model through the real pipeline, as an administration runs it: the small demo loaded
up to the end of May and the model trained (the champion), then June delivered and the model trained
again (a challenger, compared with the champion on June's outcomes, the decision recorded). Every
item is scored out of time, selections carry their reason, and no later outcome changes an earlier
month's score."""

from datetime import date

import duckdb
import pytest

from orchestration.rules import rule
from tests.conftest import SMALL, materialize_nightly

END_OF_MAY = date(2021, 5, 31)
BACKTEST = "declaration_id, item_no, period_month, fraud_probability"


@pytest.fixture(scope="module")
def two_trainings(small_demo_master, tmp_path_factory):
    landing, _ = small_demo_master
    var = tmp_path_factory.mktemp("model") / "var"
    first = (SMALL.start, END_OF_MAY)
    assert materialize_nightly(landing, var, as_of=END_OF_MAY.isoformat(), days=first).success
    assert materialize_nightly(landing, var, as_of=END_OF_MAY.isoformat(), retrain=True).success
    con = duckdb.connect(str(var / "warehouse.duckdb"), read_only=True)
    may = con.execute(f"SELECT {BACKTEST} FROM models.risk_backtest WHERE model_version = 'risk-v1'").fetchall()
    con.close()
    assert materialize_nightly(landing, var, as_of=SMALL.end.isoformat()).success
    trained = materialize_nightly(landing, var, as_of=SMALL.end.isoformat(), retrain=True)
    assert trained.success
    con = duckdb.connect(str(var / "warehouse.duckdb"), read_only=True)
    yield con, may, trained, var
    con.close()


def test_a_second_training_with_new_outcomes_is_a_challenger_with_a_recorded_decision(two_trainings):
    con, _, trained, var = two_trainings
    versions = con.execute("""
        SELECT model_version, status, trained_through, evaluated_month, replaced_version, decision,
               champion_metrics IS NOT NULL
        FROM models.risk_model_versions ORDER BY trained_at""").fetchall()
    assert [v[0] for v in versions] == ["risk-v1", "risk-v2"]
    (v1, status1, through1, _, _, decision1, _), (_, status2, through2, evaluated, replaced, decision2, compared) = (
        versions
    )
    assert through1 == date(2021, 5, 1) and through2 == evaluated == date(2021, 6, 1)
    assert decision1 == "promoted: no champion yet"
    assert replaced == v1 and compared  # the champion was scored on June too
    assert decision2.startswith("promoted: " if status2 == "champion" else "rejected: ")
    assert (status1, status2) in {("retired", "champion"), ("champion", "rejected")}
    # every version is kept on disk with its card
    for version in ("risk-v1", "risk-v2"):
        assert (var / "models" / "risk" / version / "card.json").exists()
        assert (var / "models" / "risk" / version / "final.txt").exists()
    (metadata,) = [
        event.step_materialization_data.materialization.metadata
        for event in trained.get_asset_materialization_events()
        if event.asset_key.path == ["models", "risk_model"]
    ]
    assert metadata["model_version"].value == "risk-v2" and metadata["decision"].value == decision2
    assert metadata["champion_on_the_same_month"] is not None


def test_outcomes_after_a_month_never_change_its_out_of_time_scores(two_trainings):
    con, may, _, _ = two_trainings
    v1 = set(may)
    v2 = set(con.execute(f"SELECT {BACKTEST} FROM models.risk_backtest WHERE model_version = 'risk-v2'").fetchall())
    assert {month for _, _, month, _ in v1} == {date(2021, 4, 1), date(2021, 5, 1)}
    # June's outcomes and items arrived in between: April and May are scored exactly as before
    assert v1 and v1 <= v2 and len(v2 - v1) > 0


def test_every_item_after_the_warm_up_is_scored_and_explained_by_the_champion(two_trainings):
    con, *_ = two_trainings
    champion = con.execute("SELECT model_version FROM models.risk_model_versions WHERE status = 'champion'").fetchone()[
        0
    ]
    by_month = con.execute("""
        SELECT period_month, count(*), count(fraud_probability), count(DISTINCT model_version),
               any_value(model_version), count(*) FILTER (WHERE risk_score <> rules_score)
        FROM marts.declaration_risk GROUP BY 1 ORDER BY 1""").fetchall()
    warm_up = rule("risk.model.warmup_months")
    for month, _, scored, versions, _, combined in by_month[:warm_up]:
        assert scored == 0 and versions == 0 and combined == 0, month  # the rules' score alone
    for month, items, scored, versions, version, combined in by_month[warm_up:]:
        assert scored == items and versions == 1 and version == champion and combined > 0, month
    # the top tenth of each month by fraud_probability is explained in words; a selection says why
    unexplained, selected, without_reason = con.execute(
        """
        WITH ranked AS (
            SELECT *, percent_rank() OVER (PARTITION BY period_month ORDER BY fraud_probability) AS position
            FROM marts.declaration_risk WHERE fraud_probability IS NOT NULL)
        SELECT count(*) FILTER (WHERE position >= 1 - $share AND model_explanation IS NULL),
               count(*) FILTER (WHERE selection_reason = 'risk'),
               count(*) FILTER (WHERE selection_reason = 'risk' AND model_explanation IS NULL AND risk_reasons IS NULL)
        FROM ranked""",
        {"share": rule("risk.model.explained_share") - 0.001},
    ).fetchone()
    assert unexplained == 0 and without_reason <= 0.05 * selected, (unexplained, without_reason, selected)


def test_selections_are_the_top_of_each_day_plus_an_exploration_share(two_trainings):
    con, *_ = two_trainings
    risk, exploration, items = con.execute("""
        SELECT count(*) FILTER (WHERE selection_reason = 'risk'),
               count(*) FILTER (WHERE selection_reason = 'exploration'), count(*)
        FROM marts.declaration_risk""").fetchall()[0]
    rate, share = rule("risk.model.selection_rate"), rule("risk.model.exploration_share")
    assert 0.5 * rate * (1 - share) * items < risk <= rate * (1 - share) * items
    assert 0.05 < exploration / (risk + exploration) < 0.2
    # an exploration pick is not chosen on its score: it never outscores the risk picks of its day
    above = con.execute("""
        SELECT count(*) FROM marts.declaration_risk AS e
        WHERE e.selection_reason = 'exploration' AND e.risk_score > (
            SELECT min(r.risk_score) FROM marts.declaration_risk AS r
            WHERE r.lodged_date = e.lodged_date AND r.selection_reason = 'risk')""").fetchone()[0]
    assert above == 0


def test_performance_is_reported_for_every_version_selection_and_rate(two_trainings):
    con, *_ = two_trainings
    cells = con.execute("""
        SELECT model_version, selection, count(DISTINCT inspection_rate), count(DISTINCT period_month)
        FROM marts.risk_model_performance WHERE item_group = 'all' GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
    rates = len(rule("risk.model.inspection_rates"))
    assert [(v, s) for v, s, *_ in cells] == [
        (v, s) for v in ("risk-v1", "risk-v2") for s in ("combined", "model", "random", "rules")
    ]
    assert all(r == rates for _, _, r, _ in cells)
    model, random = con.execute("""
        SELECT max(precision) FILTER (WHERE selection = 'model'), max(precision) FILTER (WHERE selection = 'random')
        FROM marts.risk_model_performance
        WHERE model_version = 'risk-v2' AND scope = 'all_months' AND item_group = 'all' AND inspection_rate = 0.05
        """).fetchone()
    assert model > 2 * random  # the demo's outcomes are learnable (its _demo_truth/learnable.json)
