"""The ``lead-scoring`` command line: the jobs that run outside Airflow."""

import os
import shutil
from typing import Annotated

import typer

from lead_scoring.bench import bench
from lead_scoring.byod.cli import bad_inputs, import_data
from lead_scoring.calibration.cli import calibrate, calibration_apply
from lead_scoring.crm_sandbox.cli import crm_sandbox
from lead_scoring.crm_sync.cli import crm_preflight, crm_sync
from lead_scoring.demo import demo
from lead_scoring.faults.cli import faults
from lead_scoring.privacy.cli import forget
from lead_scoring.privacy.security import security
from lead_scoring.quality.cli import quality_check, quality_eval
from lead_scoring.settings import get_settings
from lead_scoring.simulator.cli import simulate
from lead_scoring.sources.cli import extract
from lead_scoring.warehouse import WarehouseError, thrift_server_command

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
app.command("demo")(demo)
app.command("simulate")(simulate)
app.command("crm-sandbox")(crm_sandbox)
app.command("extract")(extract)
app.command("import")(import_data)
app.command("bad-inputs")(bad_inputs)
app.command("quality-check")(quality_check)
app.command("quality-eval")(quality_eval)
app.command("crm-preflight")(crm_preflight)
app.command("crm-sync")(crm_sync)
app.command("calibrate")(calibrate)
app.command("calibration-apply")(calibration_apply)
app.command("bench")(bench)
app.command("faults")(faults)
app.command("forget")(forget)
app.command("security")(security)


@app.command("spark-thrift-server")
def spark_thrift_server(
    port: Annotated[
        int, typer.Option(help="The Thrift port dbt and the stages connect to.")
    ] = 10000,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
) -> None:
    """Serve the home's Spark warehouse on a Thrift server in the foreground (pyspark's Spark,
    the local settings): point LEAD_SCORING_WAREHOUSE_URL at hive://HOST:PORT."""
    argv, env = thrift_server_command(get_settings(), port, host)
    if shutil.which("java") is None:
        raise WarehouseError("Spark needs Java 17: `make tools` installs it")
    os.execvpe(argv[0], argv, env)
