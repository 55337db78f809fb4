# Riff's image: web, workers and beat all run from it (see docker-compose.yml).
#   docker build -t riff .                                    # CPU torch (web, default worker)
#   docker build -t riff-gpu --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings
# The PyTorch wheel index: CPU by default; a CUDA index (cu128, ...) for the GPU worker image.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# libgl1 and libglib2.0-0 for opencv (invisible-watermark); curl for the healthcheck.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, from pyproject.toml alone, so a code change doesn't reinstall torch.
# torch comes from the PyTorch index at the exact pin; pip then sees it satisfied.
COPY pyproject.toml ./
RUN pip install torch==2.13.0 --index-url "$TORCH_INDEX" \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
# Editable, so `config` always imports from /app, beside templates/, static/ and manage.py.
RUN pip install --no-deps -e .
# Collect with the production storage (DEBUG off): it writes the hashed-name manifest that
# {% static %} needs at run time. The key exists only for this command.
RUN DEBUG=0 SECRET_KEY=build-time-only-collectstatic-key-not-used-at-run-time \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --create-home riff && mkdir -p /app/media /app/.data \
    && chown -R riff /app/media /app/.data
USER riff
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
