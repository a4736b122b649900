from django.contrib import admin
from django.urls import include, path

from matches.forms import ThrottledAdminAuthenticationForm

# The admin's sign-in counts failures and locks out like the sign-in page (matches.signin).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("dotasync.api_urls")),
    path("", include("dotasync.urls_auth")),
    path("", include("syncjobs.urls")),
    path("", include("matches.urls")),
    path("", include("matches.notifications.urls")),
]
