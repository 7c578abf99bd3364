"""Docker healthcheck for the web container: is gunicorn answering HTTP requests?

Healthy when GET of the path given (default /) returns any status below 500 (a redirect to the sign-in page
is fine; /health/ready answers 503 when the app is not ready).
Sends a Host header from ALLOWED_HOSTS and X-Forwarded-Proto: https, as the TLS proxy in
front of the app would, so production settings neither reject the host nor redirect to HTTPS.
Uses only the standard library; exit code 0 = healthy, 1 = unhealthy.
"""

import http.client
import os
import sys


def health_host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HEALTHCHECK_PATH", "/")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": health_host(), "X-Forwarded-Proto": "https"})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"unhealthy: {exc}")
        return 1
    finally:
        connection.close()
    print(f"GET {path} -> {status}")
    return 0 if status < 500 else 1


if __name__ == "__main__":
    sys.exit(main())
