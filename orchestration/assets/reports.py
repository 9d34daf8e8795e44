"""The findings report: one HTML page a manager can open offline, rebuilt after every refresh."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration import settings
from orchestration.assets.dbt import model_keys
from orchestration.reports.findings import findings_html, money_by_method
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource


def report_path():
    return settings.var_dir() / "reports" / "findings.html"


@asset(
    key=["reports", "findings"],
    deps=[*model_keys("marts"), AssetKey(["quality", "data_docs"])],
    group_name="reports",
    owners=["team:risk-management"],
    kinds={"html", "python"},
    tags={"classification": "confidential"},
    pool=WAREHOUSE_POOL,
    description="Self-contained HTML findings for managers: money at risk by method, top mirror gaps, top "
    "targets (pseudonymous), counterfeit risks with the right holder to notify, network alerts with a picture "
    "of their parties (keys only), clearance trends and the run's data quality.",
)
def findings_report(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        page = findings_html(con)
        money = money_by_method(con)
    path = report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(path)
    context.log.info(f"findings report: {path}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "size_kb": round(len(page.encode()) / 1024, 1),
            **{f"at_risk_omr_{method}": round(value, 3) for method, value in money.items()},
        }
    )
