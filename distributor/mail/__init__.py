"""Mail transports: one module per provider under :class:`MailBackend`."""

from distributor.mail.base import MailBackend, build_mail_backend

__all__ = ["MailBackend", "build_mail_backend"]
