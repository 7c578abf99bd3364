from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        from operations import task_logs

        # One JSON line per task, with the request id of whoever queued it (operations/task_logs.py).
        task_logs.connect()
