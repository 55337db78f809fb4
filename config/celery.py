"""The Celery app; queues by workload (`default`, `gpu`)."""

import os
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("riff")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The embedded queue's folders (settings: kombu's filesystem transport).
QUEUE_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


@app.on_after_configure.connect
def embedded_queue_folders(sender: Celery, **kwargs: Any) -> None:
    """kombu's folder queue fails on a folder that is not there: any process that sends
    (a web process, the worker, a management command, a bench) makes them first."""
    if not str(sender.conf.broker_url).startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in QUEUE_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
