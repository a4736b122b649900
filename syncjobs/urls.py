from django.urls import path

from syncjobs import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sync/", views.start, name="sync_start"),
    path("jobs/<int:job_id>/", views.progress, name="job_progress"),
    path("jobs/<int:job_id>/cancel/", views.cancel, name="job_cancel"),
    path("completeness/", views.completeness_report, name="completeness"),
    path("completeness/refresh/", views.opendota_refresh, name="opendota_refresh"),
    path("healthz", views.healthz, name="healthz"),
]
