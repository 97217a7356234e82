"""DBOS Python 3.4's client cancelling and resuming a Swift workflow a Swift executor runs.

usage: python dbos_cancel_resume.py <system-database-url>
Enqueues py-echo as py-c (it waits for a message), cancels it while it waits, reads its status and
what get_result raises, resumes it, sends the message, and prints one JSON object.
"""
import json, sys, time
from dbos import DBOSClient
from dbos._serialization import WorkflowSerializationFormat

client = DBOSClient(system_database_url=sys.argv[1])
portable = WorkflowSerializationFormat.PORTABLE
handle = client.enqueue(
    {"workflow_name": "py-echo", "queue_name": "py-q", "workflow_id": "py-c", "serialization_type": portable,
     "application_name": "swift-durable"}, "cancel me")


def wait_for(status, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        current = handle.get_status().status
        if current == status:
            return current
        time.sleep(0.1)
    return handle.get_status().status


out = {"running": wait_for("PENDING")}
time.sleep(0.5)  # in its recv
client.cancel_workflow("py-c")
out["cancelled"] = wait_for("CANCELLED")
try:
    handle.get_result()
    out["cancelledResult"] = "returned"
except Exception as e:
    out["cancelledResult"] = type(e).__name__
time.sleep(2.5)  # the Swift executor notices at its next look at the inbox (it polls every second)
client.resume_workflow("py-c")
out["resumed"] = wait_for("PENDING")
time.sleep(0.5)
client.send("py-c", "again", "go", serialization_type=portable)
out["result"] = handle.get_result()
out["final"] = handle.get_status().status
print(json.dumps(out))
