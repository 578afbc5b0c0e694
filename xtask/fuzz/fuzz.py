"""The Espresso API fuzz: schemathesis against a running espresso-server, once per role.

Run by `cargo xtask test` (xtask/src/fuzz.rs starts the server and calls this with the venv's
Python); by hand:

    python xtask/fuzz/fuzz.py --url http://127.0.0.1:PORT --mail-dir DIR --admin EMAIL --out DIR

The server must have been started with `--mailer dir:DIR` and `--admin EMAIL`. This script signs
in (reading the codes from the mail folder), seeds the shop `main` (open, an order of each of two
customers), then runs schemathesis over every operation of /api/openapi.json as each role:
anonymous, customer, barista, admin. It prints each run's failures with a `curl` reproducer,
then one line `fuzz result: N passed; M failed` (N, M: operations × roles) and exits 1 on any
failure.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "fuzz.example.com"
# A run that hangs (a request that never ends, a stuck server) is stopped and fails.
ROLE_TIMEOUT_S = 300

# Checks that judge the API by its OpenAPI document and API.md; see docs/CI.md for what each means
# and why the two left out are.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "problem_json",
]


class Api:
    def __init__(self, url, mail_dir):
        self.url = url.rstrip("/")
        self.mail_dir = mail_dir
        self.http = requests.Session()

    def call(self, method, path, token=None, body=None, expect=(200,)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(
            method, f"{self.url}/api/v1{path}", json=body, headers=headers, timeout=30
        )
        if response.status_code not in expect:
            raise SystemExit(
                f"seeding: {method} {path} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else None

    def sign_in(self, email):
        """The one-time-code flow, reading the code from the `dir:` mailer's folder."""
        pattern = os.path.join(self.mail_dir, f"*-{email}.eml")
        before = set(glob.glob(pattern))
        challenge = self.call("POST", "/auth/otp", body={"email": email}, expect=(202,))
        deadline = time.monotonic() + 10
        while True:
            new = sorted(set(glob.glob(pattern)) - before)
            if new:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"seeding: no mail to {email} within 10 s in {self.mail_dir}")
            time.sleep(0.02)
        with open(new[-1], encoding="utf-8", newline="") as mail:
            body = mail.read().split("\r\n\r\n", 1)[-1]
        code = next(
            line.strip()
            for line in body.splitlines()
            if len(line.strip()) == 6 and line.strip().isdigit()
        )
        session = self.call(
            "POST",
            "/auth/otp/verify",
            body={"challenge_id": challenge["challenge_id"], "code": code},
        )
        return session["access_token"]


def seed(api, admin_email):
    """Users of each role, the shop open, an order of each of two customers; the ids."""
    tokens = {"anonymous": None, "admin": api.sign_in(admin_email)}
    admin = tokens["admin"]
    barista = f"barista@{DOMAIN}"
    api.call("PUT", f"/users/{barista}/roles", admin, {"roles": ["barista"]})
    tokens["barista"] = api.sign_in(barista)
    tokens["customer"] = api.sign_in(f"customer@{DOMAIN}")
    other = api.sign_in(f"other@{DOMAIN}")
    # Open, generous limits (so customers' orders get past the daily limit and the queue cap),
    # and a code that lasts the whole run.
    limits = {"max_orders_per_day": 0, "max_queue": 1000, "code_rotation_s": 3600}
    shop = api.call("PATCH", "/shops/main", admin, {"open": True, "limits": limits})
    code = api.call("GET", "/shops/main/code", admin)["code"]
    item = shop["menu"][0]
    options = {m["id"]: m["options"][0] for m in item["modifiers"] if m["options"]}
    drink = {"item_id": item["id"], "options": options}
    mine = api.call(
        "POST", "/shops/main/orders", tokens["customer"], {"code": code}, expect=(201,)
    )
    theirs = api.call(
        "POST", "/shops/main/orders", other, {"code": code, "drink": drink}, expect=(201,)
    )
    known = {
        "shop": ["main"],
        "id": [mine["id"], theirs["id"]],
        "item_id": [i["id"] for i in shop["menu"]],
        "email": [f"someone@{DOMAIN}"],
        "code": [code],
    }
    protected = [admin_email, barista, f"customer@{DOMAIN}", f"other@{DOMAIN}"]
    # Sign-out ends a session: each signed-in run gets one of its own for it, which it may spend.
    # Signed in now, before the fuzz spends the address's sign-in allowance on /auth/otp.
    logout = {
        role: api.sign_in(f"leaver-{role}@{DOMAIN}") if token else ""
        for role, token in tokens.items()
    }
    return tokens, logout, known, protected


def junit_counts(path):
    """(passed, failed operation names) from a schemathesis JUnit report."""
    passed, failed = 0, []
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return 0, ["(no report: schemathesis did not finish)"]
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name", "?"))
        else:
            passed += 1
    return passed, failed


def print_known(path):
    """Each known finding seen: how often, on which operations, one reproducer."""
    seen = {}
    try:
        with open(path, encoding="utf-8") as log:
            for line in log:
                entry = json.loads(line)
                seen.setdefault(entry["name"], []).append(entry)
    except OSError:
        pass
    if not seen:
        print("  none seen")
    for name, entries in seen.items():
        operations = sorted({e["operation"] for e in entries})
        print(f"  {name} ({len(entries)}x on {len(operations)} operations): {entries[0]['what']}")
        print(f"    e.g. {entries[0]['curl']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--mail-dir", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--out", required=True, help="folder for the reports")
    parser.add_argument("--roles", default="anonymous,customer,barista,admin")
    parser.add_argument(
        "--max-examples",
        type=int,
        default=int(os.environ.get("ESPRESSO_FUZZ_EXAMPLES", "40")),
        help="examples per operation and phase (env ESPRESSO_FUZZ_EXAMPLES)",
    )
    parser.add_argument(
        "--seed",
        default=os.environ.get("ESPRESSO_FUZZ_SEED", "20261129"),
        help="hypothesis seed; 'random' for a new one (env ESPRESSO_FUZZ_SEED)",
    )
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    api = Api(args.url, args.mail_dir)
    tokens, logout, known, protected = seed(api, args.admin)

    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    total_passed, failures = 0, []
    known_log = os.path.join(args.out, "known-findings.jsonl")
    if os.path.exists(known_log):
        os.remove(known_log)
    for role in args.roles.split(","):
        env = dict(os.environ)
        env.update(
            SCHEMATHESIS_HOOKS=os.path.join(HERE, "hooks.py"),
            FUZZ_TOKEN=tokens[role] or "",
            FUZZ_LOGOUT_TOKEN=logout[role],
            FUZZ_KNOWN=json.dumps(known),
            FUZZ_PROTECTED_EMAILS=json.dumps(protected),
            FUZZ_KNOWN_LOG=known_log,
        )
        junit = os.path.join(args.out, f"{role}.xml")
        if os.path.exists(junit):
            os.remove(junit)
        command = [
            schemathesis,
            "run",
            f"{api.url}/api/openapi.json",
            "--url",
            api.url,
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(args.max_examples),
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--no-color",
            "--output-sanitize",
            "false",
            "--generation-database",
            "none",
            "--report",
            "junit",
            "--report-junit-path",
            junit,
        ]
        if args.seed != "random":
            command += ["--seed", str(args.seed)]
        # More schemathesis options for a run by hand, e.g. `--continue-on-failure`.
        command += os.environ.get("ESPRESSO_FUZZ_ARGS", "").split()
        print(f"\n=== fuzz as {role}: {' '.join(command[3:])}", flush=True)
        started = time.monotonic()
        try:
            status = subprocess.run(
                command, env=env, cwd=args.out, check=False, timeout=ROLE_TIMEOUT_S
            ).returncode
        except subprocess.TimeoutExpired:
            print(f"=== fuzz as {role}: stopped after {ROLE_TIMEOUT_S} s", flush=True)
            status = -1
        passed, failed = junit_counts(junit)
        if status != 0 and not failed:
            failed = [f"(schemathesis exited {status})"]
        print(
            f"=== fuzz as {role}: {passed} operations passed, {len(failed)} failed "
            f"in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        total_passed += passed
        failures += [f"{role}: {name}" for name in failed]

    print("\nfuzz: known findings (listed in xtask/fuzz/hooks.py; they do not fail the run):")
    print_known(known_log)
    print("\nfuzz summary:")
    for failure in failures:
        print(f"  FAILED {failure}")
    if not failures:
        print("  every operation passed as every role")
    print(f"fuzz result: {total_passed} passed; {len(failures)} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
