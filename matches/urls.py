from django.urls import path

from matches import views

urlpatterns = [
    path("matches/", views.match_list, name="match_list"),
    path("matches/<int:match_id>/", views.match_detail, name="match_detail"),
    path("matches/<int:match_id>/<slug:section>/", views.match_detail, name="match_section"),
    path("matches/export/", views.export_download, name="export_download"),
    path("teammates/", views.teammates, name="teammates"),
    path("stats/", views.stats_page, name="stats"),
    path("stats/heroes/", views.stats_heroes, name="stats_heroes"),
    path("stats/breakdowns/", views.stats_breakdowns, name="stats_breakdowns"),
    path("stats/records/", views.stats_records, name="stats_records"),
    path("stats/activity/", views.stats_activity, name="stats_activity"),
    path("stats/with-against/", views.stats_with_against, name="stats_with_against"),
    path("stats/with-against/<int:player_id>/", views.stats_player, name="stats_player"),
    path("stats/trends/", views.stats_trends, name="stats_trends"),
    path("stats/parsed/", views.stats_parsed, name="stats_parsed"),
    path("stats/turbo/", views.turbo_choice, name="turbo_choice"),
]
