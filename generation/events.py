"""What generation tells the apps above it (see core/events.py).

Notifications tell a person whose clip finished (ready, or why it could not be made), so
they need not wait on the job's page. Sent by `job_transition`, inside its transaction.
"""

from core.events import DomainEvent

# A job reached a final state (succeeded, failed, cancelled or timed out).
job_finished = DomainEvent("generation.job_finished", ("job",))
