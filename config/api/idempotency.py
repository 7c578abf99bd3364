"""`Idempotency-Key` on writes: a resend with the same key and body gets the first answer, as it was.

The first request with a key records it (in flight), does its work and stores its answer (status and the
exact body). While it works it holds a PostgreSQL advisory lock named by the user and the key, so the
same request sent again at the same moment waits for it and then answers the stored answer: ten identical
requests at once store once and answer alike. A request with the same key and another body (or path) gets
422; 409 while the first is still in flight. An answer of 5xx is not kept, so the client's retry is
carried out. Keys are kept 24 hours; an older one counts as new, and a user's expired keys are removed when
they record a new one.
"""

import hashlib
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse

from config import clock
from config.api.errors import ApiError, Conflict, Replay, Unprocessable
from config.sql import advisory_lock_try, advisory_lock_wait, advisory_unlock
from rebates.api.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
MAX_LENGTH = IdempotencyKey._meta.get_field("key").max_length
KEY_PATTERN = rf"^[!-~]{{1,{MAX_LENGTH}}}$"
KEY = re.compile(KEY_PATTERN.replace("$", r"\Z"))
# How long a resend waits for the first request with its key before answering 409.
WAIT_SECONDS = 120


def request_digest(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.get_full_path().encode())
    digest.update(b"\n")
    digest.update(request._request.body)
    return digest.hexdigest()


def _lock_id(user_id: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()[:8], "big", signed=True)


def replay_response(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(record.response_body, status=record.response_status, content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response


class Claim:
    """This request owns the key: it does the work, then `finish` stores its answer and lets others go."""

    def __init__(self, record: IdempotencyKey, lock_id: int | None):
        self.record = record
        self.lock_id = lock_id

    def finish(self, response) -> None:
        try:
            if response.status_code < 500:
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
                IdempotencyKey.objects.filter(pk=self.record.pk).update(
                    status=IdempotencyKey.Status.DONE, response_status=response.status_code,
                    response_body=response.content.decode(response.charset or "utf-8"))
        finally:
            self.release()

    def release(self) -> None:
        if self.lock_id is None:
            return
        lock_id, self.lock_id = self.lock_id, None
        advisory_unlock(lock_id)


def idempotency_begin(request) -> Claim | None:
    """None without the header; a Claim when this request is to do the work; raises Replay with the
    stored answer for a resend, Unprocessable (422) for the key used on another request, Conflict (409)
    while another request with the key is still in flight."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY.match(key):
        raise ApiError(f"{HEADER} must be 1 to {MAX_LENGTH} visible ASCII characters (a UUID, say).",
                       details=[{"field": HEADER, "message": f"1 to {MAX_LENGTH} visible ASCII characters."}])
    user = request.user
    digest = request_digest(request)
    lock_id = _lock_id(user.pk, key)
    if not advisory_lock_try(lock_id):
        record = _current(user, key)
        if record is not None and record.request_hash != digest:
            _refuse_other_request(record, in_flight=record.status == IdempotencyKey.Status.IN_FLIGHT)
        _wait_for_lock(lock_id)
    claim = Claim(None, lock_id)
    try:
        record = _current(user, key)
        if record is not None:
            if record.request_hash != digest:
                _refuse_other_request(record, in_flight=False)
            if record.status == IdempotencyKey.Status.DONE:
                raise Replay(replay_response(record))
            # Left in flight by a first attempt that failed: this one carries it out.
            claim.record = record
            return claim
        now = clock.now()
        IdempotencyKey.objects.filter(user=user, created_at__lt=now - KEEP_FOR).delete()
        try:
            with transaction.atomic():
                claim.record = IdempotencyKey.objects.create(
                    user=user, key=key, method=request.method, path=request.path[:255], request_hash=digest,
                    status=IdempotencyKey.Status.IN_FLIGHT,
                )
        except IntegrityError:
            # The lock was waited for; should the record still clash, the unique (user, key) decides.
            raise Conflict(f"A request with this {HEADER} is still in flight; send it again once it is "
                           f"answered.") from None
        return claim
    except BaseException:
        claim.release()
        raise


def _current(user, key) -> IdempotencyKey | None:
    """The user's unexpired record of the key."""
    return IdempotencyKey.objects.filter(user=user, key=key, created_at__gte=clock.now() - KEEP_FOR).first()


def _refuse_other_request(record, *, in_flight):
    if in_flight:
        raise Conflict(f"A request with this {HEADER} is still in flight; send it again once it is answered.")
    raise Unprocessable(f"This {HEADER} was already used with another request (method, path or body); "
                        f"use a new key for a new request.", code="idempotency_key_reused")


def _wait_for_lock(lock_id) -> None:
    if not advisory_lock_wait(lock_id, seconds=WAIT_SECONDS):
        raise Conflict(f"A request with this {HEADER} is still in flight; send it again once it is answered.")
