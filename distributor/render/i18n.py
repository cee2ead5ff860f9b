"""Interface strings of the digest in each supported language, and text direction.

A small built-in catalogue for the languages of the sample newsroom; any other
language falls back to English strings (the stories keep their own language).
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello {name},",
        "greeting_anon": "Hello,",
        "intro": "Here are the latest stories from {newsroom}.",
        "read_more": "Read more",
        "share": "Share",
        "unsubscribe": "Unsubscribe",
        "preferences": "Manage preferences",
        "reason": "You receive this email because you subscribed to {list}.",
        "top_story": "Top story",
        "more_stories": "More stories",
    },
    "ar": {
        "greeting": "مرحباً {name}،",
        "greeting_anon": "مرحباً،",
        "intro": "إليك أحدث الأخبار من {newsroom}.",
        "read_more": "اقرأ المزيد",
        "share": "شارك",
        "unsubscribe": "إلغاء الاشتراك",
        "preferences": "إدارة التفضيلات",
        "reason": "تصلك هذه الرسالة لأنك مشترك في {list}.",
        "top_story": "الخبر الرئيسي",
        "more_stories": "أخبار أخرى",
    },
    "ja": {
        "greeting": "{name} 様",
        "greeting_anon": "こんにちは。",
        "intro": "{newsroom}の最新ニュースをお届けします。",
        "read_more": "続きを読む",
        "share": "共有",
        "unsubscribe": "配信停止",
        "preferences": "配信設定",
        "reason": "このメールは{list}にご登録いただいた方にお送りしています。",
        "top_story": "トップニュース",
        "more_stories": "その他のニュース",
    },
    "es": {
        "greeting": "Hola, {name}:",
        "greeting_anon": "Hola:",
        "intro": "Estas son las últimas noticias de {newsroom}.",
        "read_more": "Seguir leyendo",
        "share": "Compartir",
        "unsubscribe": "Darse de baja",
        "preferences": "Gestionar preferencias",
        "reason": "Recibes este correo porque te suscribiste a {list}.",
        "top_story": "Noticia principal",
        "more_stories": "Más noticias",
    },
    "fr": {
        "greeting": "Bonjour {name},",
        "greeting_anon": "Bonjour,",
        "intro": "Voici les dernières informations de {newsroom}.",
        "read_more": "Lire la suite",
        "share": "Partager",
        "unsubscribe": "Se désabonner",
        "preferences": "Gérer mes préférences",
        "reason": "Vous recevez ce courriel car vous êtes abonné·e à {list}.",
        "top_story": "À la une",
        "more_stories": "Autres articles",
    },
}


def base_language(tag: str) -> str:
    return tag.replace("_", "-").split("-")[0].lower()


def strings_for(tag: str) -> dict[str, str]:
    return STRINGS.get(base_language(tag), STRINGS["en"])


def direction(tag: str) -> str:
    return "rtl" if base_language(tag) in RTL_LANGUAGES else "ltr"


def babel_locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        try:
            return Locale.parse(base_language(tag))
        except (UnknownLocaleError, ValueError):
            return Locale.parse("en")


def long_date(value: object, tag: str) -> str:
    return format_date(value, format="long", locale=babel_locale(tag))  # type: ignore[arg-type]
