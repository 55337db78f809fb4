"""Plumbing every Riff app uses: API errors and pages, htmx-aware views, media serving,
health checks, the text encoder and domain events. It imports no Riff app."""
