"""A worker that imports 5000 rows in three phases, reports its progress through the SDK
and stops when the user cancels the job.

    PROGRESS_MQTT_URL=tcp://127.0.0.1:1883 PROGRESS_MQTT_USERNAME=worker PROGRESS_MQTT_PASSWORD=... \\
        python3 examples/import_worker.py alice import-42
"""

import os
import sys
import time

import progress_publisher as progress


def main() -> int:
    user_id = sys.argv[1] if len(sys.argv) > 1 else "alice"
    job_id = sys.argv[2] if len(sys.argv) > 2 else f"import-{int(time.time())}"
    with progress.connect(
        os.environ.get("PROGRESS_MQTT_URL", "tcp://127.0.0.1:1883"),
        username=os.environ.get("PROGRESS_MQTT_USERNAME", "worker"),
        password=os.environ.get("PROGRESS_MQTT_PASSWORD", ""),
        worker_id="import-worker",
        on_error=lambda topic, error: print(f"{topic}: {error}", file=sys.stderr),
    ) as publisher:
        job = publisher.job(user_id, job_id, job_type="data_import")
        job.start("Importing prices.csv")
        job.phase(1, 3, "Download", "Fetching prices.csv")
        time.sleep(0.1)
        job.phase(2, 3, "Parse", "Parsing rows")
        rows = 5000
        for row in range(500, rows + 1, 500):
            if job.cancel_requested:
                break
            job.counter(row, rows, f"Parsed {row} of {rows} rows")
            job.eta((rows - row) / 10000)  # seconds
            time.sleep(0.02)
        if job.cancel_requested:
            last = job.cancel(f"Cancelled by {job.last_cancel_request.requested_by}")
        else:
            job.phase(3, 3, "Write")
            last = job.complete({"rows": rows})
        try:
            last.result(timeout=10)
        except progress.PublishError as e:
            print(f"the broker did not take the last update: {e}", file=sys.stderr)
            return 1
    print(f"{user_id}/{job_id}: {job.state['status']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
