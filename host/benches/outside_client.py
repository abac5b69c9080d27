"""A plain sequential MCP stdio client in its own process, as an outside measurement makes
one: it starts the server, sends one JSON-RPC line per call and blocks reading the answer.
`versus` runs it for its `outside/*` scenarios (issue 26, item 4). Standard library only.

Usage: outside_client.py WARMUP CALLS -- SERVER_COMMAND...
Calls `text_count` on the 44-byte sentence WARMUP times unmeasured, then CALLS times, checking
every answer, and prints one JSON line: the measured latencies in nanoseconds, the CPU time
(user + system, nanoseconds) the server process used while they ran, how many times its
threads were switched out (voluntarily: parked waiting for work) and how many minor page
faults it took meanwhile.
"""

import json
import os
import subprocess
import sys
import time

SENTENCE = "The quick brown fox jumps over the lazy dog."
EXPECTED = '"words":9'


def stat(pid):
    """The fields of /proc/PID/stat after the command name (field 3 is index 0)."""
    with open(f"/proc/{pid}/stat") as stat_file:
        return stat_file.read().rsplit(")", 1)[1].split()


def cpu_ns(pid):
    """The process's user + system CPU time so far (fields 14 and 15)."""
    fields = stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def minor_faults(pid):
    """The process's minor page faults so far (field 10)."""
    return int(stat(pid)[7])


def switches(pid):
    """Voluntary context switches of all the process's threads so far."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as status:
                for line in status:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return total


def main():
    warmup, calls = int(sys.argv[1]), int(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1 :]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
    )
    out = server.stdout

    def send(message):
        server.stdin.write((json.dumps(message) + "\n").encode())

    def ask(message):
        send(message)
        return out.readline()

    init = ask(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "outside", "version": "1"},
            },
        }
    )
    if b'"result"' not in init:
        raise SystemExit(f"initialize failed: {init!r}")
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    latencies = []
    cpu_start = None
    for i in range(warmup + calls):
        if i == warmup:
            cpu_start = cpu_ns(server.pid)
            switches_start = switches(server.pid)
            faults_start = minor_faults(server.pid)
        line = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": i + 1,
                "method": "tools/call",
                "params": {"name": "text_count", "arguments": {"text": SENTENCE}},
            }
        ).encode() + b"\n"
        started = time.perf_counter_ns()
        server.stdin.write(line)
        answer = out.readline()
        elapsed = time.perf_counter_ns() - started
        if EXPECTED.encode() not in answer:
            raise SystemExit(f"unexpected answer: {answer!r}")
        if i >= warmup:
            latencies.append(elapsed)
    cpu = cpu_ns(server.pid) - cpu_start
    switched = switches(server.pid) - switches_start
    faulted = minor_faults(server.pid) - faults_start
    server.stdin.close()
    server.wait(timeout=10)
    print(
        json.dumps(
            {
                "latencies_ns": latencies,
                "cpu_ns": cpu,
                "switches": switched,
                "faults": faulted,
            }
        )
    )


if __name__ == "__main__":
    main()
