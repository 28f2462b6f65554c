from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "golive"
    verbose_name = "Go-live core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from golive.middleware import renewed_at_sign_in

        user_logged_in.connect(renewed_at_sign_in, dispatch_uid="golive.renewed_at_sign_in")
