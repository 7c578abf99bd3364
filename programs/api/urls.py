from django.urls import path

from programs.api.views import ProgramEffectivenessViewSet, WhatIfViewSet

urlpatterns = [
    path("program-effectiveness/<str:code>/", ProgramEffectivenessViewSet.as_view({"get": "effectiveness"}),
         name="program-effectiveness-api"),
    path("what-ifs/", WhatIfViewSet.as_view({"post": "create"}), name="whatif-list-api"),
    path("what-ifs/<int:pk>/", WhatIfViewSet.as_view({"get": "retrieve"}), name="whatif-api"),
]
