"""How log lines are written: one JSON object a line (production, tests), or readable console lines (`make run`,
LOG_FORMAT=console). Every logger of the apps, Django's and Celery's goes through the standard library;
structlog only formats, adding the context bound for the request or task (request id, run id, user id).

Imported by the settings, so nothing here may import Django models."""

import logging

import structlog

_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
]


def json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_PRE_CHAIN,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(default=str)],
    )


def console_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_PRE_CHAIN,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.dev.ConsoleRenderer(colors=False)],
    )


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING setting: every record to the console in `log_format` ("json" or "console")."""
    if log_format not in ("json", "console"):
        raise ValueError(f"LOG_FORMAT must be json or console, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": f"operations.log_format.{log_format}_formatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
        "root": {"handlers": ["console"], "level": level},
        # One line per request comes from operations.middleware; Django's own would repeat it.
        "loggers": {"django.server": {"level": "WARNING"}},
    }
