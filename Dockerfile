# Followthrough: one image for web, worker and cron.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 1000 followthrough
COPY pyproject.toml README.md ./
COPY coach_app ./coach_app
COPY dashboards ./dashboards
COPY workers ./workers
COPY migrations ./migrations
COPY gunicorn.conf.py ./
RUN pip install . && chown -R followthrough /app

USER followthrough
EXPOSE 8000
CMD ["gunicorn", "--workers", "4", "--bind", "0.0.0.0:8000", "coach_app:create_app()"]
