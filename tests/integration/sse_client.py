"""A small Server-Sent Events reader for the tests (http.client, nothing to install)."""
import http.client
import json


class EventStream:
    """GET `path` on 127.0.0.1:`port`; for a 200, read_block()/next_event() read the stream."""

    def __init__(self, port, path, headers=None, timeout=10):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.headers)

    def body(self):
        """The whole body of an answer that is not a stream (4xx, 5xx)."""
        return self.response.read().decode()

    def read_block(self):
        """The next block up to a blank line, as text: an event's fields, or a comment (': heartbeat').
        Raises EOFError when the stream ends, TimeoutError (socket timeout) when nothing comes."""
        lines = []
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.decode().rstrip("\r\n")
            if line == "":
                if lines:
                    return "\n".join(lines)
                continue
            lines.append(line)

    def next_event(self):
        """The next block as a dict: 'event', 'id', 'retry', 'data' (parsed JSON) or 'comment'."""
        out = {}
        for line in self.read_block().split("\n"):
            if line.startswith(":"):
                out["comment"] = line[1:].strip()
                continue
            name, _, value = line.partition(":")
            out[name] = value[1:] if value.startswith(" ") else value
        if "data" in out:
            out["data"] = json.loads(out["data"])
        return out

    def close(self):
        self.conn.close()
