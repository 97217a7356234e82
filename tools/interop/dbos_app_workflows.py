"""A DBOS Python 3.4 app (named py-app) running its own workflows in a database a Swift executor
serves, for the Swift side to read: one in portable JSON, one in DBOS's default (pickle).

usage: python dbos_app_workflows.py <system-database-url>
Prints {"portable": <result>, "pickled": <result>}.
"""
import json, sys
from dbos import DBOS, DBOSConfig, SetWorkflowID, WorkflowSerializationFormat

config: DBOSConfig = {"name": "py-app", "system_database_url": sys.argv[1], "application_version": "py-v1"}
DBOS(config=config)


@DBOS.step()
def double(x: int) -> int:
    return x * 2


@DBOS.step()
def describe(name: str, n: int) -> str:
    return f"{name}={n}"


@DBOS.workflow(serialization_type=WorkflowSerializationFormat.PORTABLE)
def py_native(name: str, count: int) -> dict:
    n = double(count)
    return {"text": describe(name, n), "n": n}


@DBOS.workflow()
def py_pickled(count: int) -> int:
    return double(count)


DBOS.launch()
with SetWorkflowID("py-native-1"):
    portable = py_native("alice", 21)
with SetWorkflowID("py-pickled-1"):
    pickled = py_pickled(4)
DBOS.destroy()
print(json.dumps({"portable": portable, "pickled": pickled}))
