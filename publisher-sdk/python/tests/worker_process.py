"""A worker in a process of its own, for the Last Will test: connects with the SDK,
starts a job, prints "ready" and waits to be killed.

    PROGRESS_MQTT_URL=... PROGRESS_MQTT_PASSWORD=... python3 worker_process.py <workerId> <userId> <jobId>"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import progress_publisher  # noqa: E402

worker_id, user_id, job_id = sys.argv[1:4]
publisher = progress_publisher.connect(os.environ["PROGRESS_MQTT_URL"], username="worker",
                                       password=os.environ["PROGRESS_MQTT_PASSWORD"], worker_id=worker_id)
publisher.job(user_id, job_id).start("Working until killed").result(10)
print("ready", flush=True)
while True:
    time.sleep(1)
