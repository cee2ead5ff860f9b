#!/bin/sh
# Share cards need fonts for CJK, Hebrew, Devanagari and emoji (Arabic and
# Devanagari also come bundled from PyPI). Install the Debian Noto packages
# when fontconfig lacks them and this is a Debian machine where we are root;
# otherwise say what is missing and go on (card tests then skip with a reason).
set -u
missing=""
fc-list :lang=ja 2>/dev/null | grep -q . || missing="$missing fonts-noto-cjk"
fc-list :lang=he 2>/dev/null | grep -qi noto || missing="$missing fonts-noto-core"
fc-list 2>/dev/null | grep -qi "color emoji" || missing="$missing fonts-noto-color-emoji"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing fonts for share cards:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1
    } || echo "warning: could not install$missing; share cards will lack those scripts"
else
    echo "note: share cards want the Debian packages$missing (run: sudo apt-get install$missing)"
fi
exit 0
