"""Schemathesis against the app's own OpenAPI schema, on a live `docent serve` (loopback).

Runs the ``st run`` CLI (schemathesis 4.x: coverage, fuzzing and stateful phases) once
per caller: with a staff key (authenticated paths: chat with internal docs, search,
feedback, the console and eval reports) and anonymously (the public path). Each response
is checked with ``not_a_server_error``, ``response_schema_conformance`` and
``content_type_conformance``. Prints the cases run, the responses by status code, every
server error (5xx) with its request, and the schema violations; exits 1 on any 5xx.

``POST /v1/evals`` is excluded: it starts a real evaluation run with the local judge
model inside the server, which is minutes of CPU per case.

    .venv/bin/python bench/fuzz.py [--max-examples 60] [--seed 1]
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._service import STAFF_KEY, data_dir, machine, serve, staff_env  # noqa: E402

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
EXCLUDED = "start_v1_evals_post"
SERVER_ERROR_CODE = "ST101"


def _body(request: dict[str, object]) -> str:
    body = request.get("body")
    if isinstance(body, dict) and "$base64" in body:
        return base64.b64decode(str(body["$base64"])).decode(errors="replace")[:500]
    return str(body)[:500] if body else ""


def run_pass(base: str, name: str, headers: list[str], args: argparse.Namespace, out: Path) -> dict[str, object]:
    """One ``st run``; its JSON report (cases, failures) and NDJSON events (every response)."""
    report, events = out / f"{name}.json", out / f"{name}.ndjson"
    command = [str(Path(sys.executable).parent / "st"), "run", f"{base}/openapi.json", "--checks", CHECKS,
               "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", "1",
               "--exclude-operation-id", EXCLUDED, "--request-timeout", "60", "--report", "json,ndjson",
               "--report-json-path", str(report), "--report-ndjson-path", str(events), "--no-color"]
    for header in headers:
        command += ["--header", header]
    proc = subprocess.run(command, capture_output=True, text=True)
    if not report.exists():
        raise SystemExit(f"st run failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    summary = json.loads(report.read_text())
    statuses: collections.Counter[int] = collections.Counter()
    server_errors = []
    for line in events.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        for interaction in finished["recorder"].get("interactions", {}).values():
            response = interaction.get("response")
            if response is None:
                continue
            statuses[response["status_code"]] += 1
            if response["status_code"] >= 500:
                request = interaction["request"]
                server_errors.append(f"{request['method']} {request['uri']} {_body(request)}".strip())
    failures = {f["code"]: {"title": f["title"], "count": f["count"], "operations": f["operations"]}
                for f in summary["failures"]}
    return {"cases": summary["test_cases"]["generated"], "operations": summary["operations"]["tested"],
            "statuses": dict(sorted(statuses.items())), "server_errors": len(server_errors),
            "server_error_requests": server_errors[:20], "failures": failures,
            "errors": summary["errors"], "seconds": round(summary["running_time"], 1),
            "exit_code": summary["exit_code"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/fuzz.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=60, help="fuzzing examples per operation and pass")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--passes", default="staff,public", help="staff, public or both (comma-separated)")
    args = parser.parse_args(argv)
    print(f"machine {json.dumps(machine())}; checks {CHECKS}; excluded {EXCLUDED}", flush=True)
    passes = {"staff": [f"X-API-Key: {STAFF_KEY}"], "public": []}
    report: dict[str, object] = {"machine_start": machine()}
    with data_dir() as data, serve(data, "docent-fake/echo-cite", staff_env()) as server, \
            tempfile.TemporaryDirectory() as tmp:
        for name in args.passes.split(","):
            result = run_pass(server.base, name, passes[name], args, Path(tmp))
            report[name] = result
            print(f"{name:7} {result['cases']:>5} cases over {result['operations']} operations in "
                  f"{result['seconds']} s; statuses {result['statuses']}; server errors {result['server_errors']}; "
                  f"failures {json.dumps(result['failures'])}", flush=True)
            for request in result["server_error_requests"]:  # type: ignore[attr-defined]
                print(f"    5xx: {request}")
    report["machine_end"] = machine()
    parts = [v for v in report.values() if isinstance(v, dict) and "cases" in v]
    total, server_errors = sum(p["cases"] for p in parts), sum(p["server_errors"] for p in parts)
    violations = sum(f["count"] for p in parts for code, f in p["failures"].items() if code != SERVER_ERROR_CODE)
    report["total"] = {"cases": total, "server_errors": server_errors, "other_check_failures": violations}
    print(f"TOTAL {total} cases, {server_errors} server errors (5xx), {violations} other check failures")
    print(json.dumps(report))
    return 1 if server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
