from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "golive"
    verbose_name = "Go-live core"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from golive import audit
        from golive.middleware import renewed_at_sign_in

        user_logged_in.connect(renewed_at_sign_in, dispatch_uid="golive.renewed_at_sign_in")
        user_logged_in.connect(audit.signed_in, dispatch_uid="golive.audit.signed_in")
        user_logged_out.connect(audit.signed_out, dispatch_uid="golive.audit.signed_out")
        user_login_failed.connect(audit.sign_in_failed, dispatch_uid="golive.audit.failed")
        user_locked_out.connect(audit.locked_out, dispatch_uid="golive.audit.locked_out")
