"""Staffing views, one module per area; staffing/urls.py gathers their urlpatterns."""
