"""RFC 7807 error bodies exactly as the AVIV v4 spec shapes them (type, title, status, detail, instance).

``instance`` is the request's traceparent. The media type of each error is the one
the spec declares for that operation and status (``application/json+problem``
for most, ``application/json`` for 401 and for the webhook operations' default).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from etl.sandbox.schema import FieldError, load_spec

DOC = "https://caas-api-documentation.kugawana.eu/doc/staging/seloger/ingest-v4/index.html#section/Errors/"
PROBLEM = "application/json+problem"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def problem(status: int, detail: str, instance: str, *, title: str | None = None, type_: str = "about:blank",
            **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra)
    return body


def validation_error(errors: Sequence[FieldError], source: str, instance: str) -> dict[str, Any]:
    return problem(400, "Your request has not been validated", instance, type_=DOC + "Validation-Error",
                   errors=[e.as_dict() for e in errors], errorSource=source)


def parsing_error(instance: str) -> dict[str, Any]:
    return problem(400, "Validator could not parse body", instance)


def no_body(instance: str) -> dict[str, Any]:
    return problem(400, "Body is not defined", instance)


def duplicated(offerer_estate_id: str, classified_id: str, instance: str) -> dict[str, Any]:
    # The wording (and its "offerEstateId" typo) is the real API's: clients parse the id out of it.
    detail = (f"This offererEstateId: {offerer_estate_id} is already associated with an existing classified "
              f"identified by classifiedId: {classified_id}. Classifieds must have unique offerEstateId.")
    return problem(400, detail, instance, title="Duplicated classified", type_=DOC + "Duplicated-Classifieds-Error")


_COLLIDING = ("The classified has been submitted to be attached with conflicting contact's information. "
              "The following fields cannot be set simultaneously: 'data.contact.*', 'specific.gsl.contact.*'")


def colliding_contacts(instance: str) -> dict[str, Any]:
    return problem(400, "Colliding information", instance, type_=DOC + "Colliding-Contacts-Information-Error",
                   errors=[{"name": "data.contact.*", "reason": _COLLIDING},
                           {"name": "specific.gsl.contact.*", "reason": _COLLIDING}],
                   errorSource="body")


def unauthorized(instance: str) -> dict[str, Any]:
    return problem(401, "Invalid token. Please check your authentication token, it can either be not valid or expired.",
                   instance)


def forbidden(instance: str) -> dict[str, Any]:
    return problem(403, "You don't have sufficient permissions to perform this action. "
                        "Please check the scopes set in your authentication token.", instance)


def not_found(resource_id: str, instance: str) -> dict[str, Any]:
    return problem(404, f"The resource you are trying to operate with doesn't exists: {resource_id}.", instance)


def precondition_failed(instance: str) -> dict[str, Any]:
    return problem(412, "The if-match header don't match with the revision of the classified "
                        "you are trying to operate with.", instance)


def server_error(status: int, instance: str) -> dict[str, Any]:
    return problem(status, "An error has occurred, please contact the customer support team", instance)


def too_many_requests(retry_after_s: int, instance: str) -> dict[str, Any]:
    return problem(429, f"Too many requests: retry after {retry_after_s} s.", instance)


@cache
def _declared_media_types() -> dict[tuple[str, str, str], str]:
    table: dict[tuple[str, str, str], str] = {}
    for path, ops in load_spec()["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, response in op["responses"].items():
                content = response.get("content") or {}
                if content:
                    table[(method.upper(), path, status)] = next(iter(content))
    return table


def media_type(method: str, route: str | None, status: int) -> str:
    """The content type the spec declares for this operation and status (its ``default`` otherwise)."""
    if route is None:
        return "application/json" if status == 401 else PROBLEM
    table = _declared_media_types()
    found = table.get((method, route, str(status))) or table.get((method, route, "default"))
    return found or ("application/json" if status == 401 else PROBLEM)
