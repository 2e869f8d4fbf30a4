"""docker-compose.yml is structurally valid (checked offline by docker-compose) and complete."""

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
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


def _config() -> dict:
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is installed by `make tools`"
    out = subprocess.run(
        [docker_compose, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return yaml.safe_load(out.stdout)


def test_compose_file_validates_and_runs_airflow_3_with_local_executor():
    config = _config()
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


def test_compose_mounts_exist_and_image_builds_from_the_lock():
    config = _config()
    for service in config["services"].values():
        for source, _ in _volumes(service):
            if source.startswith("/"):
                assert Path(source).exists(), source
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "apache/airflow:3.3.2" in dockerfile and "uv.lock" in dockerfile
