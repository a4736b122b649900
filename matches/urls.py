from django.urls import path

from matches import views

urlpatterns = [
    path("matches/", views.match_list, name="match_list"),
    path("matches/<int:match_id>/", views.match_detail, name="match_detail"),
    path("matches/export/", views.export_download, name="export_download"),
    path("teammates/", views.teammates, name="teammates"),
    path("stats/", views.stats_page, name="stats"),
]
