from customers.models import AuditRecord


def audit_record(*, actor, action, target, summary, data=None, actor_label=""):
    """Write one audit row; call it inside the transaction of the change it describes."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditRecord.objects.create(
        actor=user,
        actor_label=actor_label or ("" if user else "system"),
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        summary=summary[:300],
        data=data or {},
    )
