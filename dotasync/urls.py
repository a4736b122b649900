from django.contrib import admin
from django.urls import include, path

from matches.identity.forms import ThrottledAdminAuthenticationForm

# The admin's sign-in counts failures and locks out like the sign-in page (matches.identity.signin).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("dotasync.api_urls")),
    path("", include("matches.identity.urls")),
    path("", include("syncjobs.urls")),
    path("", include("matches.urls")),
    path("", include("matches.notifications.urls")),
]
