"""The Spark engine's Thrift server settings (orchestration/engines/spark_server.py): the server is started
with the profile's session parameters, and the warehouse resource sends dbt to it. No Spark needed;
tests/test_spark_nightly.py runs the nightly through a real one."""

from __future__ import annotations

import pytest
import yaml

from orchestration.engines import spark_server
from orchestration.resources import SPARK_THRIFT_TARGET, WarehouseResource
from orchestration.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.fast


def test_the_server_gets_the_session_targets_parameters_rendered_for_its_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMS_SPARK_DRIVER_MEMORY", "3g")
    warehouse = tmp_path / "spark" / "warehouse"
    parameters = spark_server.session_parameters(warehouse)
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["customs_warehouse"]["outputs"]
    assert set(parameters) == set(profile["spark"]["server_side_parameters"])
    assert not [v for v in parameters.values() if "{" in v]  # every template rendered
    assert parameters["spark.sql.warehouse.dir"] == str(warehouse)
    assert f"databaseName={warehouse}_metastore;" in parameters["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert parameters["spark.driver.memory"] == "3g" and parameters["spark.sql.session.timeZone"] == "Asia/Muscat"
    assert set(spark_server.DECISIVE) <= set(parameters)

    pytest.importorskip("pyspark")
    argv = spark_server.command(warehouse, "127.0.0.1", 10123)
    assert argv[argv.index("--class") + 1] == spark_server.SERVER_CLASS
    confs = [argv[i + 1] for i, a in enumerate(argv) if a == "--conf"]
    assert confs == [f"{k}={v}" for k, v in parameters.items()]
    hive = [argv[i + 1] for i, a in enumerate(argv) if a == "--hiveconf"]
    assert hive == ["hive.server2.thrift.bind.host=127.0.0.1", "hive.server2.thrift.port=10123"]


def test_a_thrift_address_sends_dbt_to_the_thrift_target_with_its_host_and_port(tmp_path):
    def warehouse(**fields) -> WarehouseResource:
        return WarehouseResource(path=str(tmp_path / "w.duckdb"), engine="spark", **fields)

    assert warehouse(spark_thrift="").dbt_target == "spark"
    served = warehouse(spark_thrift="10.1.2.3:10001")
    assert served.dbt_target == SPARK_THRIFT_TARGET
    names = served.dbt_vars()
    assert (names["customs_spark_thrift_host"], names["customs_spark_thrift_port"]) == ("10.1.2.3", "10001")
    assert WarehouseResource(path=str(tmp_path / "w.duckdb"), engine="duckdb", spark_thrift="h:1").dbt_target == "local"
    with pytest.raises(ValueError, match="expected host:port"):
        warehouse(spark_thrift="10.1.2.3").dbt_vars()
