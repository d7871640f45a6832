"""The guest agent's console lines, read one way by the system tests and
bench/.

The agent (tests/guest/agent/) prints `AGENT-<KIND> {json}` for results
(REPORT, DISK, NET, FIO, PINGPONG, CPULOOP, ...) and `AGENT-<KIND> text`
for markers (START, SHELL pid N, END ...). On a serial console other output
can share the line: the marker may come after a kernel message's start,
and a kernel message may follow the JSON, so a line is read from the
marker on and the JSON value from its first character, with what follows
it ignored. A line whose JSON does not parse is kept as BADJSON (a kernel
message inside it, a byte lost on the console), never dropped silently.

Used by tests/system (guest.py, dbguest.py, test_numa.py) and by bench/
(vmprobe.py in the KVM host, suite through guest.py); bench/ finds this
folder on sys.path.
"""
import json

PREFIX = "AGENT-"


def json_at(text):
    """The JSON value at the start of text; what follows it is ignored.
    ValueError when there is none."""
    return json.JSONDecoder().raw_decode(text)[0]


def marked(text, marker):
    """For each line of text that holds marker: the rest of the line after
    its first occurrence, stripped."""
    out = []
    for line in text.splitlines():
        i = line.find(marker)
        if i >= 0:
            out.append(line[i + len(marker):].strip())
    return out


def agent_lines(text):
    """[(KIND, value)] for the AGENT-<KIND> lines of text, in order: value
    is the parsed JSON object, or the rest of the line ("" for a bare
    marker). A line whose JSON does not parse gives ("BADJSON", line)."""
    out = []
    for line in text.splitlines():
        i = line.find(PREFIX)
        if i < 0:
            continue
        kind, _, rest = line[i + len(PREFIX):].partition(" ")
        rest = rest.strip()
        if rest.startswith("{"):
            try:
                out.append((kind, json_at(rest)))
            except ValueError:
                out.append(("BADJSON", line))
        else:
            out.append((kind, rest))
    return out


def parse_agent(text):
    """{KIND: value} of agent_lines (the last line of a kind wins); a bare
    marker's value is True, and "BADJSON" lists the lines that did not
    parse."""
    found = {}
    for kind, value in agent_lines(text):
        if kind == "BADJSON":
            found.setdefault("BADJSON", []).append(value)
        else:
            found[kind] = value if value != "" else True
    return found
