"""Views of the core app, one module per area; golive/urls.py gathers their urlpatterns."""
