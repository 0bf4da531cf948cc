#!/usr/bin/env bash
# Install the Debian packages the test suite needs, when they are missing.
#
# Usage: scripts/ensure_system_packages.sh [browser] [postgres]   (default: both)
#
#   browser   Debian's chromium (/usr/bin/chromium) and a CJK font (also embedded in the printed
#             documents' PDFs), plus poppler-utils (pdftotext, pdftoppm) to check those PDFs
#   postgres  Debian's postgresql server (/usr/lib/postgresql/*/bin/initdb), for
#             scripts/with_postgres.sh
#
# Runs `apt-get update` at most once, and only when something is missing. As a
# non-root user nothing is installed: a note is printed and the script exits 0
# (the browser tests then skip, and with_postgres.sh decides what a missing
# server means). Exits non-zero only when an install was attempted and failed.
set -euo pipefail

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(browser postgres)

missing=()
for what in "${want[@]}"; do
    case "$what" in
        browser)
            if [ ! -x /usr/bin/chromium ]; then
                missing+=(chromium)
            fi
            # Chinese text in screenshots; small (16 MB) and harmless when unused.
            if ! dpkg-query -W -f='${Status}' fonts-wqy-zenhei 2>/dev/null | grep -q 'ok installed'; then
                missing+=(fonts-wqy-zenhei)
            fi
            if ! command -v pdftotext >/dev/null 2>&1; then
                missing+=(poppler-utils)
            fi
            ;;
        postgres)
            if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
                missing+=(postgresql)
            fi
            ;;
        *)
            echo "ensure_system_packages: unknown group '$what' (use: browser, postgres)" >&2
            exit 2
            ;;
    esac
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: all present (${want[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "NOTE: not root, so not installing Debian packages: ${missing[*]}"
    echo "      (as root: apt-get update && apt-get install -y ${missing[*]})"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "NOTE: no apt-get on this machine; cannot install: ${missing[*]}"
    exit 0
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/tmp/gridlink-apt-install.log 2>&1 || {
    echo "ensure_system_packages: apt-get install ${missing[*]} failed; log follows" >&2
    tail -n 40 /tmp/gridlink-apt-install.log >&2
    exit 1
}
echo "system packages: installed ${missing[*]}"
