"""Schemathesis hooks for `tests/schemathesis/run.sh`.

Three things the OpenAPI document cannot say. First, a payload filter (a webhook's `filter`, the
filter of POST /api/v1/filter-test) is a small language of its own (paths, operators, $and/$or)
that no JSON Schema states: a generated object is replaced by a valid filter (bad filters are
refused with 422 naming `filter`, tested in tests/it/filters.rs and the unit tests). Second, a portal link's `accent` must be dark enough
for white text on it (4.5:1, a rule no pattern can state): an accent that fits the pattern but
is too light is replaced by a dark one (a light one is still refused with 422, tested in
tests/it/portal.rs). Third, a webhook URL must name a host that resolves
(the server looks it up when the webhook is saved, and refuses a name that does not resolve
with 422 naming `url`). Generated host names never resolve, so every generated webhook would be
refused and no create -> read -> update -> delete chain could run. These hooks replace a
generated URL that fits the schema by a loopback URL (the server under test runs with
--allow-private-targets); a URL that does not fit the schema is left as generated, so the
server's refusals are still tested.
"""

import re

import schemathesis

TARGET = "https://127.0.0.1:9/schemathesis"
WEBHOOK_BODIES = {
    ("POST", "/api/v1/webhooks"): "CreateWebhook",
    ("PATCH", "/api/v1/webhooks/{id}"): "UpdateWebhook",
    ("POST", "/api/v1/operational-webhooks"): "CreateOperationalWebhook",
    ("PATCH", "/api/v1/operational-webhooks/{id}"): "UpdateOperationalWebhook",
}


def fits(url, rules):
    """Whether `url` meets the document's constraints on a webhook URL (its pattern uses only
    classes that Python reads as ECMA 262 does)."""
    return (
        isinstance(url, str)
        and rules["minLength"] <= len(url) <= rules["maxLength"]
        and re.search(rules["pattern"], url) is not None
    )


DARK_ACCENT = "#1d4ed8"


def contrast_with_white(hex_colour):
    """WCAG 2.1 contrast of white text on `#rrggbb` (as src/domain/portal.rs computes it)."""
    def linear(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return 1.05 / (luminance + 0.05)


VALID_FILTER = {"amount": {"$gte": 100}}


VALID_HEADERS = {"X-Api-Key": "k_schemathesis"}


def valid_filter(operation, body):
    """Also custom headers: a generated name may be one the server keeps for itself (Host,
    X-Aethenox-*, webhook-*), and a value's limit is in bytes, not characters: refused with
    422 naming `headers` (tests/it/headers.rs), so a generated set is replaced by a valid one."""
    path = operation.path.replace("/api/v1/workspaces/{workspace}", "/api/v1", 1)
    # The operational webhooks have the same fields.
    path = path.replace("/api/v1/operational-webhooks", "/api/v1/webhooks", 1)
    if path in ("/api/v1/filter-test", "/api/v1/webhooks", "/api/v1/webhooks/{id}"):
        if isinstance(body.get("filter"), dict):
            body = dict(body, filter=VALID_FILTER)
        if isinstance(body.get("headers"), dict) and path != "/api/v1/filter-test":
            body = dict(body, headers=VALID_HEADERS)
    return body


def dark_enough(operation, body):
    if not operation.path.endswith("/portal-links"):
        return body
    accent = body.get("accent")
    if isinstance(accent, str) and re.fullmatch(r"#[0-9A-Fa-f]{6}", accent):
        if contrast_with_white(accent) < 4.5:
            body = dict(body, accent=DARK_ACCENT)
    return body


def resolvable(operation, body):
    if operation is None or not isinstance(body, dict):
        return body
    body = dark_enough(operation, body)
    body = valid_filter(operation, body)
    # The same bodies under a workspace (/api/v1/workspaces/{workspace}/webhooks…).
    path = operation.path.replace("/api/v1/workspaces/{workspace}", "/api/v1", 1)
    schema = WEBHOOK_BODIES.get((operation.method.upper(), path))
    if schema is None:
        return body
    rules = operation.schema.raw_schema["components"]["schemas"][schema]["properties"]["url"]
    if fits(body.get("url"), rules):
        body = dict(body, url=TARGET)
    return body


@schemathesis.hook
def map_body(context, body):
    return resolvable(context.operation, body)


@schemathesis.hook
def map_case(context, case):
    body = resolvable(case.operation, case.body)
    # Assigned only when replaced: schemathesis judges an assigned body again, as if edited.
    if body is not case.body:
        case.body = body
    return case
