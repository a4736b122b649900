from django.urls import path

from matches.notifications import views

urlpatterns = [
    path("settings/notifications/", views.channel_add, name="notification_add"),
    path(
        "settings/notifications/<int:channel_id>/secret/",
        views.channel_secret,
        name="notification_secret",
    ),
    path(
        "settings/notifications/<int:channel_id>/test/",
        views.channel_test,
        name="notification_test",
    ),
    path(
        "settings/notifications/<int:channel_id>/switch/",
        views.channel_switch,
        name="notification_switch",
    ),
    path(
        "settings/notifications/<int:channel_id>/remove/",
        views.channel_remove,
        name="notification_remove",
    ),
]
