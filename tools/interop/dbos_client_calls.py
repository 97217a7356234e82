"""DBOS Python 3.4's client calling Swift workflows on a database a Swift executor serves.

usage: python dbos_client_calls.py <system-database-url>
Enqueues the Swift workflow py-echo by name (portable serialization, application swift-durable),
sends it the message it waits for, reads its result, status and steps; enqueues another one for a
different application, which the Swift executor must leave alone; prints one JSON object.
"""
import json, sys, time
from dbos import DBOSClient
from dbos._serialization import WorkflowSerializationFormat

url = sys.argv[1]
client = DBOSClient(system_database_url=url)
portable = WorkflowSerializationFormat.PORTABLE
handle = client.enqueue(
    {"workflow_name": "py-echo", "queue_name": "py-q", "workflow_id": "py-1", "serialization_type": portable,
     "application_name": "swift-durable"}, "hello")
client.send("py-1", "world", "go", idempotency_key="py-msg", serialization_type=portable)
client.send("py-1", "world", "go", idempotency_key="py-msg", serialization_type=portable)  # deduplicated
result = handle.get_result()
status = handle.get_status()
steps = [s["function_name"] for s in client.list_workflow_steps("py-1")]
other = client.enqueue(
    {"workflow_name": "py-echo", "queue_name": "py-q", "workflow_id": "py-other", "serialization_type": portable,
     "application_name": "someone-else"}, "not yours")
time.sleep(3)
print(json.dumps({
    "result": result, "status": status.status, "executor": status.executor_id, "steps": steps,
    "version": status.app_version, "otherStatus": other.get_status().status,
}))
