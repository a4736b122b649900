from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("dotasync.api_urls")),
    path("", include("dotasync.urls_auth")),
    path("", include("syncjobs.urls")),
    path("", include("matches.urls")),
    path("", include("notifications.urls")),
]
