"""docker-compose.yml is structurally valid (checked offline by docker-compose) and complete."""

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRETS = {
    "AIRFLOW_DB_PASSWORD",
    "PRODUCT_DB_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_API_SECRET_KEY",
    "CRM_TOKEN",
}
# Settings a user may leave unset (passed through from the shell or .env, empty by default).
OPTIONAL_SETTINGS = {"LEAD_SCORING_CONTACT_ATTRIBUTES", "LEAD_SCORING_COMPANY_ATTRIBUTES",
                     "LEAD_SCORING_WAREHOUSE", "LEAD_SCORING_WAREHOUSE_URL",
                     "SPARK_WORKER_CORES", "SPARK_WORKER_MEMORY", "SPARK_SHUFFLE_PARTITIONS"}
AIRFLOW_SERVICES = {
    "airflow-api-server": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}


def _volumes(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume; docker-compose 1.x prints the short syntax."""
    pairs = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            pairs.append((volume["source"], volume["target"]))
        else:
            source, target, *_ = volume.split(":")
            pairs.append((source, target))
    return pairs


def _example_names() -> list[str]:
    """The variables .env.example documents, in its order."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return [line.split("=", 1)[0] for line in lines if re.match(r"[A-Z_]+=", line)]


def _filled_env() -> dict[str, str]:
    """.env.example's variables, each filled the way its comment says (random hex)."""
    return {name: secrets.token_hex(16) for name in _example_names()}


def _run_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``docker-compose config`` with ``env`` as the .env file and none of it inherited."""
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is installed by `make tools`"
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return subprocess.run(
        [docker_compose, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in SECRETS},
    )


@pytest.fixture
def config(tmp_path) -> dict:
    out = _run_config(tmp_path, _filled_env())
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_compose_file_validates_and_runs_airflow_3_with_local_executor(config):
    services = config["services"]
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["command"] in (command, [command])
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert "@airflow-db:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        targets = {target for _, target in _volumes(service)}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/dbt_project"} <= targets
        assert "airflow-init" in service["depends_on"]
    assert services["airflow-db"]["image"].startswith("postgres")
    assert services["source-db"]["image"].startswith("postgres")
    sandbox = services["crm-sandbox"]
    assert "crm-sandbox" in sandbox["entrypoint"] and "0.0.0.0" in sandbox["entrypoint"]
    product_url = services["airflow-scheduler"]["environment"]["LEAD_SCORING_PRODUCT_DB_URL"]
    assert "@source-db:5432/" in product_url


def test_compose_mounts_exist_and_image_builds_from_the_lock(config):
    for service in config["services"].values():
        for source, _ in _volumes(service):
            if source.startswith("/"):
                assert Path(source).exists(), source
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "apache/airflow:3.3.2" in dockerfile and "uv.lock" in dockerfile


def test_env_example_documents_each_secret_with_a_way_to_generate_it():
    assert set(_example_names()) == SECRETS
    text = (ROOT / ".env.example").read_text()
    for name in SECRETS:
        assert re.search(rf"^{name}=$", text, re.MULTILINE), f"{name} has a value in .env.example"
    assert "Fernet.generate_key()" in text and "openssl rand -hex" in text


def test_the_secrets_are_filled_in_from_the_env_file(config):
    env = config["services"]["airflow-scheduler"]["environment"]
    for key in (
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API__SECRET_KEY",
    ):
        assert re.fullmatch(r"[0-9a-f]{32}", env[key]), key
    sandbox = config["services"]["crm-sandbox"]["environment"]
    assert re.fullmatch(r"[0-9a-f]{32}", sandbox["LEAD_SCORING_CRM_TOKEN"])


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_a_secret(tmp_path, missing):
    env = _filled_env()
    for value in ("", None):  # set but empty, then absent
        if value is None:
            del env[missing]
        else:
            env[missing] = value
        out = _run_config(tmp_path, env)
        assert out.returncode != 0
        assert missing in out.stderr


def test_every_published_port_binds_localhost_only(config):
    published = [
        (name, str(port))
        for name, service in config["services"].items()
        for port in service.get("ports", [])
    ]
    assert {name for name, _ in published} == {
        "airflow-api-server", "source-db", "crm-sandbox", "spark-thrift"}  # fmt: skip
    for name, port in published:
        assert port.startswith("127.0.0.1:"), (name, port)


def test_no_secret_has_a_default_value_in_the_file():
    text = COMPOSE_FILE.read_text()
    used = re.findall(r"\$\{(\w+)([^}]*)\}", text)
    assert {name for name, _ in used} == SECRETS | OPTIONAL_SETTINGS
    for name, rest in used:
        if name in SECRETS:
            assert rest.startswith(":?"), f"${{{name}{rest}}} must be required (:?), not defaulted"
    compose = yaml.safe_load(text)
    environments = [compose["x-airflow"]["environment"]] + [
        s.get("environment", {}) for s in compose["services"].values()
    ]
    for env in environments:
        for key, value in env.items():
            if re.search(r"PASSWORD|SECRET|FERNET|TOKEN", key):
                assert "${" in str(value), f"{key} is written into docker-compose.yml"


def test_init_creates_the_warehouse_pool_with_one_slot(config):
    """Every task that writes the warehouse runs in it (lead_scoring.airflow_runner)."""
    from lead_scoring.airflow_runner import WAREHOUSE_POOL

    command = config["services"]["airflow-init"]["command"]
    script = command[-1] if isinstance(command, list) else command
    assert "airflow db migrate" in script
    assert f"airflow pools set {WAREHOUSE_POOL} 1 " in script


def test_the_spark_profile_is_a_cluster_the_dags_reach_through_thrift(config):
    """Master, worker and Thrift server from the official image of the locked pyspark's
    Spark, sharing one warehouse directory; Airflow's default URL names the server."""
    from importlib.metadata import version

    services = config["services"]
    spark = {name: services[name] for name in ("spark-master", "spark-worker", "spark-thrift")}
    for service in spark.values():
        assert service["image"] == f"apache/spark:{version('pyspark')}"
        assert service["profiles"] == ["spark"]  # started only with --profile spark
    assert "org.apache.spark.deploy.master.Master" in spark["spark-master"]["command"]
    assert "spark://spark-master:7077" in spark["spark-worker"]["command"]
    thrift = spark["spark-thrift"]["command"]
    assert "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2" in thrift
    assert thrift[thrift.index("--master") + 1] == "spark://spark-master:7077"
    assert "hive.server2.thrift.port=10000" in thrift
    assert {"spark.sql.session.timeZone=UTC", "spark.sql.ansi.enabled=false"} <= set(thrift)
    warehouse = next(v for v in thrift if v.startswith("spark.sql.warehouse.dir="))
    shared = {target for _, target in _volumes(spark["spark-worker"])}
    assert any(warehouse.split("=", 1)[1].startswith(target) for target in shared)
    assert _volumes(spark["spark-worker"]) == _volumes(spark["spark-thrift"])
    env = services["airflow-scheduler"]["environment"]
    assert env["LEAD_SCORING_WAREHOUSE"] == "duckdb"
    assert env["LEAD_SCORING_WAREHOUSE_URL"] == "hive://spark-thrift:10000"
