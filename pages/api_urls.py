from django.urls import path

from pages.api import WatchlistView

urlpatterns = [
    path("watchlist/", WatchlistView.as_view(), name="api-watchlist"),
]
