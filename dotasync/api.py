"""What every API view shares: JSON errors, page sizes, validated queries; it imports no app."""

import re
from typing import Any

from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

MAX_PAGE_SIZE = 200


class ApiPagination(PageNumberPagination):
    """Pages of 50 by default; `page_size` up to 200 (larger asks get 200, nonsense a 400)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        # DRF reads an empty `page=` as page 1 and "last" as the last page; the schema promises
        # an integer, so anything else is an invalid page (404) like any out-of-range number.
        return request.query_params.get(self.page_query_param, 1)

    def get_page_size(self, request: Request) -> int:
        # DRF quietly falls back to the default for a bad page_size; a client should hear of it.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        if not re.fullmatch(r"[0-9]+", raw) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: ["Must be a positive integer."]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page (default {self.page_size}, at most {self.max_page_size}; "
                    "larger values are capped)."
                )
        return parameters


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with validation errors given the same `detail` every other error has."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = _validation_body(response.data)
    return response


def _validation_body(errors: Any) -> dict[str, Any]:
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors if isinstance(errors, list) else [errors]}
    field, messages = next(iter(errors.items()), ("", ["Invalid input."]))
    first = _first_message(messages)
    detail = first if field == "non_field_errors" else f"{field}: {first}"
    return {"detail": detail, "errors": errors}


def _first_message(messages: Any) -> str:
    while isinstance(messages, list | dict) and messages:
        messages = messages[0] if isinstance(messages, list) else next(iter(messages.values()))
    return str(messages) if messages else "Invalid input."


class WholeNumberField(serializers.IntegerField):
    """An integer field that refuses what DRF would round into one ("7.0", 7.0, true)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str) and not re.fullmatch(r"-?[0-9]+", data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="The messages of each field that was refused.",
    )


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def invalid_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ValidationErrorSerializer, description=description)


NOT_JSON = {
    415: error_response("The request body must be JSON (`Content-Type: application/json`).")
}
AUTH_ERRORS = {
    401: error_response(
        "Not authenticated (send `Authorization: Token <key>` or a session cookie)."
    ),
    403: error_response("A session request without a valid CSRF token."),
}


def validated_query(
    serializer_class: type[serializers.Serializer], request: Request
) -> dict[str, Any]:
    """The request's query parameters, validated (a 400 when they are not).

    Read as a plain dict: from a QueryDict DRF takes a missing boolean for False and an
    empty value for a missing one, where an API means "absent" and "invalid".
    """
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data
