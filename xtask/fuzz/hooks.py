"""Schemathesis hooks for the Espresso API fuzz (loaded through SCHEMATHESIS_HOOKS by fuzz.py).

- `problem_json`: every 4xx/5xx answer is an RFC 9457 `application/problem+json` body whose
  `code` is one of the schema's `ErrorCode` values and whose `status` is the answer's status.
- Auth: each run signs its requests with one role's bearer token (FUZZ_TOKEN); `POST
  /auth/logout` gets a token of its own (FUZZ_LOGOUT_TOKEN), so signing out cannot end the run's
  session.
- Path parameters (and a new order's booth code): half of the generated cases use ids that exist (the seeded shop, its menu
  items and orders: FUZZ_KNOWN, JSON), so the fuzz reaches the handlers behind the 404s.
- The seeded users' own roles are never rewritten (FUZZ_PROTECTED_EMAILS), so the run keeps its
  admin, barista and customer.
- Known findings (KNOWN_FINDINGS, each handed to an issue) do not fail the run but are written to
  FUZZ_KNOWN_LOG, which fuzz.py lists at the end; a fixed one is removed from the list, and from
  then on the fuzz guards it like everything else.
"""

import json
import os
import zlib

import schemathesis

PROBLEM = "application/problem+json"
LOGOUT = "/api/v1/auth/logout"

KNOWN = json.loads(os.environ.get("FUZZ_KNOWN", "{}"))
PROTECTED = {e.lower() for e in json.loads(os.environ.get("FUZZ_PROTECTED_EMAILS", "[]"))}


def _problem_code(response):
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


# (name, what and who fixes it, does this failure match it). Keep each predicate narrow: it must
# match only that finding.
KNOWN_FINDINGS = [
]


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """Drop a known finding (it does not fail the run) and log it for fuzz.py's summary."""
    for name, what, matches in KNOWN_FINDINGS:
        try:
            hit = matches(failure, case, response)
        except Exception:  # noqa: BLE001 - a predicate that cannot tell does not match
            hit = False
        if hit:
            log = os.environ.get("FUZZ_KNOWN_LOG")
            if log:
                entry = {
                    "name": name,
                    "what": what,
                    "operation": case.operation.label,
                    "curl": case.as_curl_command(),
                }
                with open(log, "a", encoding="utf-8") as out:
                    out.write(json.dumps(entry) + "\n")
            return False
    return True


def _error_codes(case):
    schemas = case.operation.schema.raw_schema.get("components", {}).get("schemas", {})
    return set(schemas.get("ErrorCode", {}).get("enum", []))


@schemathesis.check
def problem_json(ctx, response, case):
    """Every refusal is application/problem+json with a stable `code` (API.md)."""
    status = response.status_code
    if status < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    media = content_type.split(";")[0].strip().lower()
    if media != PROBLEM:
        raise AssertionError(
            f"{status} answered with Content-Type {content_type or '(none)'!r}, not {PROBLEM}: "
            f"{response.text[:200]!r}"
        )
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"{status} problem is not JSON ({error}): {response.text[:200]!r}")
    if not isinstance(body, dict):
        raise AssertionError(f"{status} problem is not a JSON object: {response.text[:200]!r}")
    codes = _error_codes(case)
    code = body.get("code")
    if code not in codes:
        raise AssertionError(f"{status} problem has code {code!r}, not one of API.md's codes")
    if body.get("status") != status:
        raise AssertionError(f"{status} problem says status {body.get('status')!r}")
    for field in ("type", "title"):
        if not isinstance(body.get(field), str):
            raise AssertionError(f"{status} problem has no string {field!r}")
    return None


@schemathesis.auth()
class RoleToken:
    """The run's bearer token; sign-out gets its own so the run's session survives it."""

    def get(self, case, ctx):
        return os.environ.get("FUZZ_TOKEN", "")

    def set(self, case, data, ctx):
        token = data
        if case.operation.path == LOGOUT and os.environ.get("FUZZ_LOGOUT_TOKEN"):
            token = os.environ["FUZZ_LOGOUT_TOKEN"]
        if token:
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {token}"


def _pick(seed, values):
    """Deterministic per input (a failing case replays the same), about half of the time."""
    digest = zlib.crc32(repr(seed).encode())
    return values[(digest >> 1) % len(values)] if values and digest % 2 == 0 else None


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Existing ids for about half of the cases; the seeded users' roles are left alone.

    Done just before the request (rather than in generation) so it holds in every phase; a
    changed case is validated again, so a negative case made valid is not judged as negative.
    """
    path = case.path_parameters
    if path:
        seed = sorted((k, str(v)) for k, v in path.items())
        for name in list(path):
            known = _pick((name, seed), KNOWN.get(name))
            if known is not None:
                path[name] = known
        email = path.get("email")
        if isinstance(email, str) and email.strip().lower() in PROTECTED:
            path["email"] = KNOWN.get("email", ["someone@example.com"])[0]
    body = case.body
    if (
        case.operation.method.upper() == "POST"
        and case.operation.path == "/api/v1/shops/{shop}/orders"
        and isinstance(body, dict)
        and "code" in body
    ):
        code = _pick(("code", repr(body)), KNOWN.get("code"))
        if code is not None:
            body["code"] = code
