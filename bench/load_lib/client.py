"""A browser-like HTTP/1.1 client for load tests: one keep-alive connection, cookies, CSRF.

Like a browser, it retries a request once on a fresh connection when a reused keep-alive
connection turns out to be closed by the server before any answer (gunicorn closes idle ones
after 5 s and recycles workers); such retries are counted, never hidden.
"""

import http.client
import re
import time
from urllib.parse import urlencode

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
IDLE_RECONNECT_S = 4.0  # under gunicorn's keepalive = 5


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class Client:
    def __init__(self, host, port, timeout=30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies = {}
        self.csrf_token = None
        self.retries = 0
        self._conn = None
        self._last_used = 0.0

    def _connection(self):
        idle = time.monotonic() - self._last_used
        if self._conn is not None and idle > IDLE_RECONNECT_S:
            self.close()
        fresh = self._conn is None
        if fresh:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn, fresh

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, form=None, json_body=None):
        headers = {"Accept-Language": "vi", "Accept": "text/html,application/json;q=0.9"}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json_body.encode()
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            conn, fresh = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
                data = raw.read()
                break
            except _STALE:
                self.close()
                if fresh or attempt == 2:
                    raise
                self.retries += 1
            except Exception:
                self.close()
                raise
        self._last_used = time.monotonic()
        if raw.getheader("Connection", "").lower() == "close":
            self.close()
        self._remember_cookies(raw.msg.get_all("Set-Cookie") or [])
        response = Response(raw.status, raw.msg, data)
        if b"csrf_token" in data:
            match = _CSRF.search(response.text)
            if match:
                self.csrf_token = match.group(1)
        return response

    def _remember_cookies(self, headers):
        for header in headers:
            pair = header.split(";", 1)[0]
            name, _, value = pair.partition("=")
            expired = "expires=thu, 01 jan 1970" in header.lower() or "max-age=0" in header.lower()
            if expired or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()

    def log_in(self, username, password):
        """The login form, as a member fills it in; True when the forum let them in."""
        self.request("GET", "/login")
        response = self.request(
            "POST",
            "/login",
            form={
                "csrf_token": self.csrf_token or "",
                "username": username,
                "password": password,
                "remember": "1",
                "next": "/",
            },
        )
        return response.status == 302
