"""Reads exported workflows back through DBOS Python 3.4's own client and its `dbos` CLI, and
prints what they see as one JSON object.

usage: python dbos_read.py <system-database-url> <spec.json>
spec: {"ids": [...], "events": {"<id>": ["<key>", ...]}, "streams": {"<id>": ["<key>", ...]}}
Prints {"list": [...], "workflows": {id: {...}}, "queues", "schedules", "versions", "latestVersion",
"cli": {"list": [...], "get": {id: ...}, "steps": {id: [...]}}}:
DBOSClient.list_workflows for every workflow, and per ID list_workflow_steps, get_status,
get_result() (or the error it raises), get_event per key and read_stream per key; the queues,
schedules and application versions; then the workflows through `dbos workflow list/get/steps`.
"""
import json, os, subprocess, sys
from dbos import DBOSClient

url, spec_path = sys.argv[1], sys.argv[2]
with open(spec_path) as f:
    spec = json.load(f)
client = DBOSClient(system_database_url=url)


def plain(v):
    return json.loads(json.dumps(v, default=str))


def error_of(e):
    return {"type": type(e).__name__, "name": getattr(e, "name", None), "message": str(e)}


out = {"list": [], "workflows": {}, "cli": {"get": {}, "steps": {}}}
for w in client.list_workflows():
    out["list"].append({
        "workflowID": w.workflow_id, "name": w.name, "status": w.status, "applicationVersion": w.app_version,
        "executorID": w.executor_id, "createdAt": w.created_at, "updatedAt": w.updated_at,
        "recoveryAttempts": w.recovery_attempts, "queueName": w.queue_name, "priority": w.priority,
        "deduplicationID": w.deduplication_id, "partitionKey": w.queue_partition_key,
        "delayUntil": w.delay_until_epoch_ms, "timeoutMilliseconds": w.workflow_timeout_ms,
        "deadline": w.workflow_deadline_epoch_ms, "forkedFrom": w.forked_from, "parentWorkflowID": w.parent_workflow_id,
    })
for wid in spec["ids"]:
    entry = {}
    entry["steps"] = [{
        "functionID": s["function_id"], "name": s["function_name"], "output": plain(s["output"]),
        "error": None if s["error"] is None else error_of(s["error"]), "childWorkflowID": s["child_workflow_id"],
        "startedAt": s["started_at_epoch_ms"], "completedAt": s["completed_at_epoch_ms"],
    } for s in client.list_workflow_steps(wid)]
    handle = client.retrieve_workflow(wid)
    status = handle.get_status()
    entry["status"] = status.status
    entry["input"] = plain(status.input)
    if status.status == "SUCCESS":
        entry["result"] = plain(handle.get_result())
    elif status.status == "ERROR":
        try:
            handle.get_result()
            entry["error"] = None
        except Exception as e:
            entry["error"] = error_of(e)
    entry["events"] = {key: plain(client.get_event(wid, key, timeout_seconds=1)) for key in spec["events"].get(wid, [])}
    entry["streams"] = {key: plain(list(client.read_stream(wid, key, timeout_seconds=5))) for key in spec["streams"].get(wid, [])}
    out["workflows"][wid] = entry

out["queues"] = [{"name": q.name, "concurrency": q._concurrency, "workerConcurrency": q._worker_concurrency,
                  "rateLimit": (q._limiter or {}).get("limit"),
                  "rateLimitPeriodMs": None if q._limiter is None else int(q._limiter["period"] * 1000)}
                 for q in client.list_queues()]
out["schedules"] = [{"name": s["schedule_name"], "cron": s["schedule"], "timeZone": s["cron_timezone"],
                     "workflow": s["workflow_name"], "queue": s["queue_name"], "paused": s["status"] == "PAUSED",
                     "lastFiredAt": s["last_fired_at"]} for s in client.list_schedules()]
out["versions"] = [v["version_name"] for v in client.list_application_versions()]
out["latestVersion"] = client.get_latest_application_version()["version_name"]

dbos = os.path.join(os.path.dirname(sys.executable), "dbos")


def cli(*args):
    done = subprocess.run([dbos, "workflow", *args, "-s", url], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


out["cli"]["list"] = cli("list", "--limit", "100000")
for wid in spec["ids"]:
    out["cli"]["get"][wid] = cli("get", wid)
    out["cli"]["steps"][wid] = cli("steps", wid)
print(json.dumps(out, sort_keys=True))
