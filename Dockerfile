# Rebate desk: one image for web (gunicorn), the Celery worker and Celery beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 --user-group app

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=app:app . .

# Static files are baked into the image (served by WhiteNoise). The values below exist only so the
# production settings load during the build; the real ones come from the environment at run time.
RUN DJANGO_SETTINGS_MODULE=config.settings.production \
    SECRET_KEY=collectstatic-at-image-build-time-only-this-is-not-a-real-secret \
    ALLOWED_HOSTS=localhost DATABASE_URL=postgres://build@localhost/never-connected \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media /app/var \
    && chown app:app /app/media /app/var

USER app

ENV DJANGO_SETTINGS_MODULE=config.settings.production
EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--config", "python:config.gunicorn", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
