import DurableLog
