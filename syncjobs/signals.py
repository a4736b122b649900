"""What the sync engine announces to the parts above it that listen (the notifications app).

The engine sends and knows no receiver, so it imports nothing above itself.
"""

from django.dispatch import Signal

# Sent once where a job ends (liveness.finish), with `job_id`; receivers write rows only, so
# no endpoint slows a sync.
job_ended = Signal()
