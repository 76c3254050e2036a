# The application image: the collector API (granian), the one-shot init and
# the Beam job (manage.py run_stream). Dependencies come from uv.lock.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH="/opt/venv/bin:$PATH"

RUN pip install --no-cache-dir "uv>=0.5"
# nginx stands in front of granian against slow and idle clients (holded/proxy.py); the server starts it.
RUN apt-get update && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
# Static files (admin, browsable API, Swagger UI, Redoc, /status) collected
# once into the image; whitenoise serves them.
ENV DJANGO_STATIC_ROOT=/app/static
RUN python manage.py collectstatic --noinput --verbosity 0
RUN useradd --system --uid 10001 --home /app app && chown -R app /app
USER app

EXPOSE 8000
# The production recommendation: nginx in front (timeouts and connection limits
# for slow clients), granian behind it, one worker process per core (one Kafka
# producer each, created in the worker), 8 request threads each.
ENV API_BIND=0.0.0.0:8000 API_ACCESS_LOG=1
CMD ["python", "-m", "holded.server"]
