# The Airflow image with this project's locked dependencies installed.
FROM apache/airflow:3.3.2-python3.11
USER airflow
COPY --chown=airflow:0 pyproject.toml uv.lock README.md /opt/lead-scoring/
COPY --chown=airflow:0 plugins /opt/lead-scoring/plugins
RUN pip install --no-cache-dir uv==0.13.8 \
 && cd /opt/lead-scoring \
 && uv export --frozen --no-dev --no-emit-project --no-hashes -o /tmp/requirements.txt \
 && uv pip install --no-cache -r /tmp/requirements.txt \
 && uv pip install --no-cache --no-deps -e /opt/lead-scoring
