# The Kura image: API (uvicorn), Celery worker and beat all run from it (docker-compose.yml).

# The web interface, built from ui/ with the npm lock file.
FROM node:20-slim AS ui
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY ui/ ./
RUN node build.mjs

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libmagic1: file type detection (indexer/extract/mime.py); fonts-noto-cjk: the Japanese font
# the PDF renderer embeds (api/pdf).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml ./
COPY api ./api
COPY indexer ./indexer
COPY storage ./storage
COPY workers ./workers
RUN pip install .
COPY --from=ui /ui/dist /app/ui/dist
ENV KURA_UI_DIR=/app/ui/dist

RUN useradd --system --uid 10001 --home-dir /data kura \
    && mkdir -p /data /keys && chown kura /data /keys && chmod 700 /data /keys
USER kura
# /keys holds the audit chain's HMAC key, apart from the data (docs/operations.md).
ENV KURA_DATA_DIR=/data KURA_AUDIT__KEY_FILE=/keys/audit.key
VOLUME ["/data", "/keys"]
EXPOSE 8000

CMD ["kura", "serve", "--host", "0.0.0.0", "--port", "8000"]
