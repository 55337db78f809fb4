"""The Celery app; queues by workload (`default`, `gpu`)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("riff")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
