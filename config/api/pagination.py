"""Pages of up to `page_size` rows (default 100, at most 1000); every list is ordered on a unique key."""

from rest_framework.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
