"""A DBOS Python app that serves the test helper's "ledgered" workflow (steps square-1..square-5)
and waits until the given exported workflows finished; every step body that really runs appends
"run <id> <k>" to the ledger file.

usage: python dbos_resume.py <system-database-url> <executor-id> <app-version> <ledger> <queue> <id>...
Prints {"<id>": [status, result]} as JSON.
"""
import json, sys, time
from dbos import DBOS, DBOSConfig

url, executor, version, ledger_path, queue_name, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
config: DBOSConfig = {"name": "swift-interop", "system_database_url": url, "executor_id": executor,
                      "application_version": version}
DBOS(config=config)

def make_step(k):
    @DBOS.step(name=f"square-{k}")
    def square(wid):
        with open(ledger_path, "a") as ledger:
            ledger.write(f"run {wid} {k}\n")
        return k * k
    return square

squares = [make_step(k) for k in range(1, 6)]

@DBOS.workflow(name="ledgered")
def ledgered(wid):
    return sum(step(wid) for step in squares)

if not queue_name.startswith("_dbos_"):
    DBOS.register_queue(queue_name)
DBOS.launch()
deadline = time.time() + 60
results = {}
while time.time() < deadline and len(results) < len(ids):
    for wid in ids:
        status = DBOS.get_workflow_status(wid)
        if status is not None and status.status in ("SUCCESS", "ERROR"):
            results[wid] = [status.status, DBOS.retrieve_workflow(wid).get_result() if status.status == "SUCCESS" else None]
    time.sleep(0.2)
print(json.dumps(results, sort_keys=True))
DBOS.destroy()
