# Riff's image: web, workers and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings
# cpu for the web and default workers; cu128 (or another CUDA index) for the GPU worker image.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY accounts ./accounts
COPY feed ./feed
COPY generation ./generation
COPY moderation ./moderation
COPY ranking ./ranking
RUN pip install torch==2.13.0 --index-url "$TORCH_INDEX" && pip install .
COPY . .
RUN DEBUG=1 SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --create-home riff && mkdir -p /app/media /app/.data && chown -R riff /app/media /app/.data
USER riff
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
