"""The programs' pages: effectiveness per program and period, and the what-if of drafted terms."""

from django.urls import path

from programs import views

urlpatterns = [
    path("programs/", views.program_list, name="programs"),
    path("programs/<str:code>/", views.program_effectiveness, name="program-effectiveness"),
    path("programs/<str:code>/sheet/", views.program_effectiveness_sheet, name="program-effectiveness-sheet"),
    path("programs/<str:code>/enrollment/", views.program_enrollment, name="program-enrollment"),
    path("programs/<str:code>/enrollment/enroll/", views.program_enroll_now, name="program-enroll"),
    path("programs/<str:code>/enrollment/template-change/", views.program_template_change_page,
         name="program-template-change"),
    path("programs/<str:code>/what-if/", views.whatif_new, name="whatif-new"),
    path("what-ifs/<int:pk>/", views.whatif_detail, name="whatif-detail"),
    path("what-ifs/<int:pk>/progress/", views.whatif_progress, name="whatif-progress"),
    path("what-ifs/<int:pk>/sheet/", views.whatif_sheet, name="whatif-sheet"),
]
