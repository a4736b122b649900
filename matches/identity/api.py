"""The accounts API endpoints: a user's linked Steam accounts, linking one by its id or
profile URL (a thin adapter over matches.identity.accounts), and an account's switches."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dotasync.api import AUTH_ERRORS, NOT_JSON, error_response, invalid_response
from matches.identity.accounts import AccountNotLinkable, link_account
from matches.models import SteamAccount
from matches.serializers import (
    AccountSwitchesSerializer,
    LinkAccountSerializer,
    SteamAccountSerializer,
)
from matches.upstream.client import UpstreamClient
from matches.upstream.steam_ids import InvalidAccountReference


class AccountListView(APIView):
    @extend_schema(
        summary="Your linked Steam accounts, with how many of their matches have details",
        responses={200: SteamAccountSerializer(many=True), **AUTH_ERRORS},
    )
    def get(self, request: Request) -> Response:
        accounts = SteamAccount.objects.filter(owner=request.user)
        return Response(SteamAccountSerializer(accounts, many=True).data)

    @extend_schema(
        summary="Link a Steam account",
        request=LinkAccountSerializer,
        responses={
            201: SteamAccountSerializer,
            400: invalid_response(
                "Not a Steam account, or you already have MAX_ACCOUNTS_PER_USER linked."
            ),
            404: error_response(
                "Not an account you can link by typing its id (as for any account you cannot "
                "see); its owner links it through Steam sign-in."
            ),
            **NOT_JSON,
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        params = LinkAccountSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        client = UpstreamClient.from_settings() if settings.STEAM_API_KEY else None
        try:
            account = link_account(
                request.user,
                params.validated_data["account"],
                resolve_vanity=client.resolve_vanity_url if client else None,
            )
        except AccountNotLinkable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        except InvalidAccountReference as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        finally:
            if client:
                client.close()
        return Response(SteamAccountSerializer(account).data, status=status.HTTP_201_CREATED)


class AccountDetailView(APIView):
    @extend_schema(
        summary="Change a linked account's switches (parse_new_matches)",
        request=AccountSwitchesSerializer,
        responses={
            200: SteamAccountSerializer,
            400: invalid_response("Bad input."),
            404: error_response("You have no linked account with that account_id."),
            **NOT_JSON,
            **AUTH_ERRORS,
        },
    )
    def patch(self, request: Request, account_id: int) -> Response:
        account = get_object_or_404(SteamAccount, account_id=account_id, owner=request.user)
        params = AccountSwitchesSerializer(account, data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        params.save()
        return Response(SteamAccountSerializer(account).data)
