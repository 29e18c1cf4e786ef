#!/bin/sh
# The image's entrypoint: runs `omron "$@"` as the unprivileged user `omron`.
#
# Started as root (the default), it first moves `omron` to the uid/gid in PUID/PGID when they
# are set (as the original subnet's image does with PUID), so that state and logs written to
# mounted host folders belong to the host user, then gives /var/lib/omron to that user and
# drops root with setpriv. Started with --user, it runs omron directly as that user.
set -eu

if [ "$(id -u)" != 0 ]; then
    exec /usr/local/bin/omron "$@"
fi

if [ -n "${PGID:-}" ] && [ "$PGID" != "$(id -g omron)" ]; then
    groupmod --non-unique --gid "$PGID" omron
fi
if [ -n "${PUID:-}" ] && [ "$PUID" != "$(id -u omron)" ]; then
    usermod --non-unique --uid "$PUID" omron
fi
# Only the home folder itself and the state volume: the wallets are usually mounted read-only
# and must keep their owner and modes.
chown omron:omron /home/omron /home/omron/.bittensor 2>/dev/null || true
find /var/lib/omron -xdev \( ! -user omron -o ! -group omron \) \
    -exec chown omron:omron {} +

exec setpriv --reuid=omron --regid=omron --init-groups -- /usr/local/bin/omron "$@"
