"""schemathesis against the OpenAPI document: the demo shop, a real key, a bounded number of examples per
operation, valid and invalid data. Fails on any server error, any undocumented status code or content
type, and any response that does not match its documented schema (issue 8, "Done when")."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from collections import Counter  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from notify_helpers import Receiver  # noqa: E402

from widgetserver import alerts, create_app, outbox, store, webhooks  # noqa: E402
from widgetserver.demo import build_demo  # noqa: E402

EXAMPLES = 20  # per operation and mode: bounded, the whole test stays well under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("schemathesis") / "demo.db"
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "DATABASE": str(path),
                      "PUBLIC_BASE_URL": "https://reviews.example.com"})
    db = store.connect(str(path))
    _, key = build_demo(db)
    demo = store.get_shop(db, "demo")
    review = db.execute("SELECT id FROM reviews WHERE shop_id = ? AND status = 'published' LIMIT 1",
                        [demo["id"]]).fetchone()[0]
    sku = db.execute("SELECT sku FROM products WHERE shop_id = ? LIMIT 1", [demo["id"]]).fetchone()[0]
    # The owner API's ids: a recipient, and an endpoint (a real receiver) with a failed delivery in its log.
    receiver = Receiver()
    receiver.statuses = [500]
    app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = True
    ids = {"alert_id": alerts.add_recipient(db, demo["id"], "service@demo.example")[0]["id"],
           "endpoint_id": webhooks.add_endpoint(db, demo["id"], receiver.url, allow_private=True)[0]["id"]}
    store.add_review(db, demo["id"], rating=1, author="Piet", source="open")
    outbox.deliver_due(app, db)
    app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] = False
    assert receiver.requests
    yield app, key, review, sku, ids
    receiver.stop()
    db.conn.close()


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.fuzz
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_document_holds_for_every_operation(demo_app, mode):
    app, key, review_id, sku, ids = demo_app
    failures = []
    seen: Counter = Counter()
    calls = [0]
    for operation in operations(app):
        strategy = operation.as_strategy(generation_mode=mode)

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            # Aim most cases at the demo shop and a real review, so they reach the code behind the 404.
            calls[0] += 1
            if case.path_parameters and "shop" in case.path_parameters and calls[0] % 4:
                case.path_parameters["shop"] = "demo"
                if mode is GenerationMode.POSITIVE:
                    for name, value in {"review_id": review_id, **ids}.items():
                        if name in case.path_parameters:
                            case.path_parameters[name] = value
            # identity: the WSGI transport does not decode the Brotli/gzip answers the reads give otherwise
            headers = {"Accept-Encoding": "identity"}
            if operation.definition.raw.get("security"):  # writes, and the owner API's reads and deletes
                headers["Authorization"] = f"Bearer {key}"
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen[(operation.method.upper(), operation.path, response.status_code)] += 1

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in this operation can be made invalid (a free string)
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
    print(sorted(seen.items()))
    # The run reached the code behind the key and the 404: writes were accepted, and refused with 400.
    statuses = {status for (_, _, status) in seen}
    assert 400 in statuses and (200 in statuses or 201 in statuses)
