"""Reads of the operations page."""

from operations.models import Alert, Heartbeat, TaskTally

RECENT_ALERTS = 50


def operations_overview() -> dict:
    return {
        "open_alerts": list(Alert.objects.filter(cleared_at__isnull=True).order_by("-started_at", "-pk")),
        "recent_alerts": list(Alert.objects.filter(cleared_at__isnull=False).order_by("-cleared_at", "-pk")
                              [:RECENT_ALERTS]),
        "heartbeats": list(Heartbeat.objects.order_by("name")),
        "tasks": list(TaskTally.objects.order_by("name")),
    }
